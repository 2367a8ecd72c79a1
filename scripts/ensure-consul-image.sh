#!/usr/bin/env bash
# Make sure the Consul image the stack uses exists in the local Docker Engine.
#
# Usage: scripts/ensure-consul-image.sh [IMAGE]
#   IMAGE defaults to the consul-multi-dc:image value in Pulumi.dev.yaml (e.g. hashicorp/consul:1.22.7).
#
# 1. The tag is already present: nothing to do (the Pulumi program never pulls a tag it already has).
# 2. Otherwise try `docker pull` (bounded: sandboxes and CI often have no registry at all).
# 3. Otherwise build the same Consul release from its Go module (via the Go module proxy) and pack it
#    FROM scratch, with Debian's static busybox, under exactly the same tag. The binary is cached
#    outside the repo, so rebuilding the image (e.g. after `docker rmi`) takes seconds.
#
# Environment:
#   PULL_TIMEOUT               seconds allowed for `docker pull` (default 30)
#   CONSUL_GO_EXTRA_REQUIRES   extra "module@version" requirements for the build (see below)
#   XDG_CACHE_HOME             the binary cache is $XDG_CACHE_HOME/consul-multi-dc (default ~/.cache)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "${SCRIPT_DIR}")
STACK_FILE="${REPO_DIR}/Pulumi.dev.yaml"
DOCKERFILE="${SCRIPT_DIR}/consul-image/Dockerfile"
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/consul-multi-dc"
PULL_TIMEOUT="${PULL_TIMEOUT:-30}"
MODULE=github.com/hashicorp/consul

LIB_NAME=ensure-consul-image
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------------------------
# Which image, which version
# ---------------------------------------------------------------------------------------------
if [[ $# -ge 1 && -n "$1" ]]; then
  IMAGE=$1
else
  [[ -r "${STACK_FILE}" ]] || die "no IMAGE argument and ${STACK_FILE} is missing."
  # The stack file is YAML, but this one line is all we need; strip quotes and a trailing comment.
  IMAGE=$(sed -n 's/^[[:space:]]*consul-multi-dc:image:[[:space:]]*//p' "${STACK_FILE}" | head -n1 |
    sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e "s/^[\"']//" -e "s/[\"']\$//")
  [[ -n "${IMAGE}" ]] || die "no 'consul-multi-dc:image:' line in ${STACK_FILE}; pass the image as an argument."
fi

# A digest names bytes we cannot rebuild, and a missing tag gives no version to build.
[[ "${IMAGE}" != *@* ]] || die "'${IMAGE}' is pinned by digest; only a tag (e.g. hashicorp/consul:1.22.7) can be built offline."
TAG=${IMAGE##*:}
[[ "${IMAGE}" == *:* && "${TAG}" != */* ]] || die "'${IMAGE}' has no tag; use e.g. hashicorp/consul:1.22.7 (the tag is the Consul version)."
[[ "${TAG}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-([0-9A-Za-z.]+))?$ ]] ||
  die "tag '${TAG}' is not a Consul version (X.Y.Z or X.Y.Z-pre), so it cannot be built offline."
VERSION=${TAG}
PRERELEASE=${BASH_REMATCH[2]:-}

# ---------------------------------------------------------------------------------------------
# 1 + 2: present already, or pullable
# ---------------------------------------------------------------------------------------------
docker info >/dev/null 2>&1 || die "Docker Engine does not answer 'docker info'; run scripts/ensure-docker.sh first."

if docker image inspect "${IMAGE}" >/dev/null 2>&1; then
  say "${IMAGE} is present."
  exit 0
fi

say "${IMAGE} is not present; trying 'docker pull' (up to ${PULL_TIMEOUT}s)..."
if pull_out=$(timeout "${PULL_TIMEOUT}" docker pull -q "${IMAGE}" 2>&1); then
  say "pulled ${IMAGE}."
  exit 0
fi
say "pull failed ($(tail -n1 <<<"${pull_out}")); building ${IMAGE} offline from the Go module ${MODULE}@v${VERSION}."
say "licence: Consul 1.17 and later are under the Business Source License 1.1 (source-available, not open source); this builds it for your own use (https://github.com/hashicorp/consul/blob/main/LICENSE)."

# ---------------------------------------------------------------------------------------------
# Tools for the offline build
# ---------------------------------------------------------------------------------------------
# The image has no libc, so busybox must be the static build.
BUSYBOX=/bin/busybox
"${SCRIPT_DIR}/ensure-busybox.sh"

# Go is only needed when the binary is not cached yet (build_consul looks for it).
need_go() {
  find_go || die "Go is needed to build Consul offline: install a Go toolchain at least as new as the 'go' line of Consul's go.mod (1.25.x for Consul 1.22) from https://go.dev/dl/ (unpack to /usr/local/go), and make sure the Go module proxy is reachable."
}

# ---------------------------------------------------------------------------------------------
# 3a: the consul binary, cached per version
# ---------------------------------------------------------------------------------------------
BIN="${CACHE_DIR}/consul-${VERSION}"
ENTRYPOINT="${CACHE_DIR}/docker-entrypoint-${VERSION}.sh"
WANT_VERSION_LINE="Consul v${VERSION}"

bin_ok() { [[ -x "$1" ]] && [[ "$("$1" version 2>/dev/null | head -n1)" == "${WANT_VERSION_LINE}" ]]; }

# The release's go.mod replaces its nested modules (api, sdk, proto-public, ...) with its own
# folders, which the module zip leaves out; a build from the module gets the versions it
# requires instead. For some releases the required version is older than the in-tree copy, and
# the build fails with "undefined" errors. These are the published versions that fix that,
# found by building; CONSUL_GO_EXTRA_REQUIRES overrides the table.
extra_requires_for() {
  case "$1" in
    # v1.22.7 requires api v1.33.7 (cut with 1.22.6), but uses ACLToken.Name and
    # ACLAuthMethod.TokenNameFormat, first published in api v1.34.1 (2026-04-14).
    1.22.7) echo "${MODULE}/api@v1.34.1" ;;
  esac
}
EXTRA_REQUIRES=${CONSUL_GO_EXTRA_REQUIRES-$(extra_requires_for "${VERSION}")}

build_consul() {
  local work="${CACHE_DIR}/build-v${VERSION}" log modjson moddir modtime
  log="${work}/build.log"
  mkdir -p "${work}"
  : >"${log}"
  need_go
  # A parent go.work, or GOFLAGS=-mod=vendor, would change what gets built.
  export GOWORK=off GOFLAGS="-buildvcs=false" CGO_ENABLED=0

  say "building Consul v${VERSION} with $("${GO}" version | cut -d' ' -f3) (first build: about 5 min on 2 cores, plus module downloads; log: ${log})..."

  # The module's go.mod: for its excludes, its release date and its UI assets.
  modjson=$(cd "${work}" && "${GO}" mod download -json "${MODULE}@v${VERSION}" 2>>"${log}") ||
    die "cannot download ${MODULE}@v${VERSION} from the Go module proxy ($("${GO}" env GOPROXY)); is it reachable, and is v${VERSION} a Consul release? See ${log}."
  moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"${modjson}")
  [[ -f "${moddir}/go.mod" ]] || die "unexpected 'go mod download' output for ${MODULE}@v${VERSION}: ${modjson}"

  # The official entrypoint script of the same release, kept next to the binary. Two things it
  # expects do not exist in our image: dumb-init (its shebang; Consul runs as PID 1 instead and
  # handles SIGTERM/SIGINT itself) and su-exec (replaced by a shim, see below).
  [[ -f "${moddir}/.release/docker/docker-entrypoint.sh" ]] ||
    die "${MODULE}@v${VERSION} has no .release/docker/docker-entrypoint.sh to copy."
  sed '1s|^#!.*|#!/bin/sh|' "${moddir}/.release/docker/docker-entrypoint.sh" >"${ENTRYPOINT}"

  # Consul serves /ui/ from files embedded from agent/uiserver/dist; the release ships them in the
  # module zip, so no Node build is needed. Stop early if that ever changes.
  [[ -f "${moddir}/agent/uiserver/dist/index.html" ]] ||
    die "${MODULE}@v${VERSION} has no agent/uiserver/dist/index.html; its web UI would be missing."

  # A throwaway wrapper module: `go install pkg@version` refuses modules with replace directives.
  # The release's excludes (go-msgpack v1.1.5/v1.1.6, which break its wire format) must be copied,
  # because only the main module's excludes apply.
  {
    echo "// Generated by scripts/ensure-consul-image.sh to build ${MODULE} v${VERSION}."
    echo "module consul-multi-dc/consul-build"
    echo
    # Consul's own go line: without it the wrapper counts as go 1.16, whose unpruned module graph
    # pulls newer, clashing versions (e.g. "ambiguous import" of tencentcloud-sdk-go).
    echo "go $(awk '$1 == "go" { print $2; exit }' "${moddir}/go.mod")"
    echo
    echo "require ${MODULE} v${VERSION}"
    echo
    awk '/^exclude[[:space:]]*\(/{blk=1} blk{print} blk&&/^\)/{blk=0; next} !blk&&/^exclude[[:space:]]/{print}' "${moddir}/go.mod"
  } >"${work}/go.mod"
  rm -f "${work}/go.sum"

  # go get fills in every requirement, plus the overrides.
  # shellcheck disable=SC2086  # EXTRA_REQUIRES is a space-separated list
  (cd "${work}" && "${GO}" get "${MODULE}@v${VERSION}" ${EXTRA_REQUIRES}) >>"${log}" 2>&1 ||
    { tail -n 20 "${log}" >&2; die "'go get ${MODULE}@v${VERSION}' failed (see above and ${log}). If it says 'requires go >= X', install that Go (https://go.dev/dl/) or allow GOTOOLCHAIN=auto."; }

  # The same ldflags as Consul's Makefile: BuildDate is the release commit's date (the module
  # proxy's timestamp); GitCommit is left empty because the proxy does not know the commit.
  # VersionPrerelease comes from version/VERSION, which is already clean for releases;
  # it is set anyway so a tree-state "-dev" can never leak in.
  modtime=$(cd "${work}" && "${GO}" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "${MODULE}")
  local ldflags="-s -w -X ${MODULE}/version.VersionPrerelease=${PRERELEASE} -X ${MODULE}/version.BuildDate=${modtime}"
  (cd "${work}" && "${GO}" build -trimpath -ldflags "${ldflags}" -o "${BIN}.tmp" "${MODULE}") >>"${log}" 2>&1 || {
    tail -n 20 "${log}" >&2
    die "building ${MODULE}@v${VERSION} failed (see above and ${log}). 'undefined: ...' errors in consul code mean a nested module (usually ${MODULE}/api) is older than the release's own copy: set CONSUL_GO_EXTRA_REQUIRES='${MODULE}/api@vX.Y.Z' to a published version from around the release date ('go list -m -versions ${MODULE}/api') and re-run."
  }

  local got
  # Captured whole, then cut: `version | head -n1` can die of SIGPIPE, which pipefail would pass on.
  got=$("${BIN}.tmp" version)
  got=${got%%$'\n'*}
  [[ "${got}" == "${WANT_VERSION_LINE}" ]] || die "the built binary says '${got}', not '${WANT_VERSION_LINE}'."
  mv -f "${BIN}.tmp" "${BIN}"
  say "built ${BIN} ($(du -h "${BIN}" | cut -f1))."
}

mkdir -p "${CACHE_DIR}"
# Two runs at once (e.g. two test suites) must not build twice into the same files.
exec 9>"${CACHE_DIR}/.lock-${VERSION}"
flock 9
# Another run may have finished the image while this one waited for the lock.
if docker image inspect "${IMAGE}" >/dev/null 2>&1; then
  say "${IMAGE} is present (built by a concurrent run)."
  exit 0
fi
if bin_ok "${BIN}" && [[ -s "${ENTRYPOINT}" ]]; then
  say "using the cached binary ${BIN}."
else
  build_consul
fi

# ---------------------------------------------------------------------------------------------
# 3b: pack the image FROM scratch
# ---------------------------------------------------------------------------------------------
CTX=$(mktemp -d)
CHECK_NAME="consul-multi-dc-image-check-$$"
cleanup() {
  docker rm -f -v "${CHECK_NAME}" >/dev/null 2>&1 || true
  rm -rf "${CTX}"
}
trap cleanup EXIT

R="${CTX}/rootfs"
mkdir -p "${R}/bin" "${R}/etc/ssl/certs" "${R}/usr/local/bin" "${R}/home/consul"
cp "${BUSYBOX}" "${R}/bin/busybox"
cp "${BIN}" "${R}/bin/consul"

# Same ids as the official Alpine image (addgroup consul -> 1000, adduser -S consul -> 100).
cat >"${R}/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
consul:x:100:1000:Linux User,,,:/home/consul:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
EOF
cat >"${R}/etc/group" <<'EOF'
root:x:0:root
consul:x:1000:consul
nogroup:x:65534:
EOF
# Go's resolver should read /etc/hosts before DNS, as in the official image.
echo 'hosts: files dns' >"${R}/etc/nsswitch.conf"
# Not needed offline, but the official image has CA certificates (e.g. for HTTPS checks).
[[ -r /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "${R}/etc/ssl/certs/"

cp "${ENTRYPOINT}" "${R}/usr/local/bin/docker-entrypoint.sh"

# su-exec USER[:GROUP] CMD ARGS...: run CMD as USER without a new process, as su-exec does, using
# busybox su (the group is USER's primary group). When not root (`docker run --user consul`),
# privileges cannot change, so just run CMD, which is what the caller wants.
cat >"${R}/usr/local/bin/su-exec" <<'EOF'
#!/bin/sh
# Stand-in for su-exec in the offline-built consul image (see scripts/ensure-consul-image.sh).
set -e
spec=$1; shift
[ "$(id -u)" = 0 ] || exec "$@"
user=${spec%%:*}
case "$user" in
  ''|*[!0-9]*) ;;
  *) user=$(awk -F: -v id="$user" '$3 == id { print $1; exit }' /etc/passwd) ;;
esac
[ -n "$user" ] || { echo "su-exec: no user for '$spec' in /etc/passwd" >&2; exit 1; }
# Options first and "--": busybox su would otherwise parse CMD's own -flags as its options.
exec su -s /bin/sh -c 'exec "$0" "$@"' -- "$user" "$@"
EOF
chmod 0755 "${R}/bin/busybox" "${R}/bin/consul" "${R}/usr/local/bin/docker-entrypoint.sh" "${R}/usr/local/bin/su-exec"

say "packing ${IMAGE} (FROM scratch)..."
build_log="${CACHE_DIR}/docker-build-${VERSION}.log"
docker build -t "${IMAGE}" -f "${DOCKERFILE}" \
  --build-arg "CONSUL_VERSION=${VERSION}" \
  --build-arg "CONSUL_MODULE=${MODULE}@v${VERSION}" \
  "${CTX}" >"${build_log}" 2>&1 ||
  { tail -n 20 "${build_log}" >&2; die "'docker build' of ${IMAGE} failed; see ${build_log}."; }

# ---------------------------------------------------------------------------------------------
# 3c: check the image keeps the contract; a broken image must not stay behind under the tag,
# or the next run would accept it.
# ---------------------------------------------------------------------------------------------
reject() {
  docker logs "${CHECK_NAME}" 2>&1 | tail -n 20 >&2 || true
  docker rmi -f "${IMAGE}" >/dev/null 2>&1 || true
  die "the offline-built ${IMAGE} failed its check: $*"
}

got=$(docker run --rm --user consul "${IMAGE}" consul version 2>&1 | head -n1) || true
[[ "${got}" == "${WANT_VERSION_LINE}" ]] || reject "'consul version' as user consul printed '${got}'."

docker run -d --name "${CHECK_NAME}" "${IMAGE}" agent -dev -client 0.0.0.0 >/dev/null ||
  reject "could not start a dev agent."
leader=""
has_leader() {
  leader=$(docker exec "${CHECK_NAME}" wget -q -O - http://127.0.0.1:8500/v1/status/leader 2>/dev/null || true)
  [[ -n "${leader}" && "${leader}" != '""' ]]
}
within 30 has_leader || reject "the dev agent reported no leader within 30s."
# Captured first: with pipefail, `wget | grep -q` fails when grep closes the pipe early.
ui_page=$(docker exec "${CHECK_NAME}" wget -q -O - http://127.0.0.1:8500/ui/ 2>/dev/null || true)
[[ "${ui_page}" == *"<html"* && "${ui_page}" == *consul-ui* ]] ||
  reject "the dev agent does not serve the web UI at /ui/."
agent_user=$(docker exec "${CHECK_NAME}" ps -o user,comm | awk '$2 == "consul" { print $1; exit }')
[[ "${agent_user}" == "consul" ]] || reject "the agent runs as '${agent_user}', not as the consul user."

say "built ${IMAGE} offline and checked it (consul version, dev agent leader ${leader}, /ui/, runs as consul)."
