#!/usr/bin/env bash
# Make sure the demo services' image exists in the local Docker Engine: a static busybox FROM scratch,
# whose httpd serves each instance's page and health check. No registry is needed; it builds in seconds.
#
# Usage: scripts/ensure-demo-image.sh [IMAGE]   (default: the demoImage default in Pulumi.yaml)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "${SCRIPT_DIR}")

LIB_NAME=ensure-demo-image
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE=${1:-$(node -p "require('yaml').parse(require('fs').readFileSync('${REPO_DIR}/Pulumi.yaml','utf8')).config.demoImage.default" 2>/dev/null || true)}
[[ -n "${IMAGE}" && "${IMAGE}" != undefined ]] || die "no IMAGE argument and no demoImage default in ${REPO_DIR}/Pulumi.yaml (run npm ci first)."
docker info >/dev/null 2>&1 || die "Docker Engine does not answer 'docker info'; run scripts/ensure-docker.sh first."

if docker image inspect "${IMAGE}" >/dev/null 2>&1; then
  say "${IMAGE} is present."
  exit 0
fi

BUSYBOX=/bin/busybox
"${SCRIPT_DIR}/ensure-busybox.sh"
applets=$("${BUSYBOX}" --list)
grep -qx httpd <<<"${applets}" || die "${BUSYBOX} has no httpd applet; the demo instances need it."

CTX=$(mktemp -d)
trap 'rm -rf "${CTX}"' EXIT
R="${CTX}/rootfs"
mkdir -p "${R}/bin" "${R}/etc" "${R}/www" "${R}/tmp"
cp "${BUSYBOX}" "${R}/bin/busybox"
# The Docker healthcheck runs "/bin/sh -c 'wget …'".
for applet in sh wget httpd; do ln -s busybox "${R}/bin/${applet}"; done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"${R}/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"${R}/etc/group"
chmod 1777 "${R}/tmp"

docker build -q -t "${IMAGE}" -f "${SCRIPT_DIR}/demo-image/Dockerfile" "${CTX}" >/dev/null || die "'docker build' of ${IMAGE} failed."

# The image keeps its contract: httpd serves a page, and wget (the healthcheck) reads it.
name="consul-multi-dc-demo-check-$$"
docker run -d --name "${name}" "${IMAGE}" >/dev/null
got=$(docker exec "${name}" sh -c 'mkdir -p /tmp/w && echo ok >/tmp/w/health && busybox httpd -p 18080 -h /tmp/w && sleep 0.3 && wget -q -O - http://127.0.0.1:18080/health' 2>&1 || true)
docker rm -f -v "${name}" >/dev/null 2>&1 || true
[[ "${got}" == "ok" ]] || { docker rmi -f "${IMAGE}" >/dev/null 2>&1; die "the built ${IMAGE} does not serve a page with httpd (got '${got}')."; }
say "built ${IMAGE} and checked it (httpd serves, wget reads)."
