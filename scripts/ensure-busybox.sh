#!/usr/bin/env bash
# Make sure a static busybox is at /bin/busybox: the images this project builds FROM scratch (the offline
# Consul image, the demo services' image) have no libc. As root on Debian, installs busybox-static.
set -euo pipefail

BUSYBOX=/bin/busybox

LIB_NAME=ensure-busybox
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Captured first: ldd exits 1 on a static binary, which pipefail would pass on through a pipe.
is_static() {
  [[ -x "$1" ]] || return 1
  local out
  out=$(LC_ALL=C ldd "$1" 2>&1 || true)
  [[ "${out}" == *"not a dynamic executable"* || "${out}" == *"statically linked"* ]]
}

is_static "${BUSYBOX}" && exit 0
if can_apt_get; then
  apt_install busybox-static || die "'apt-get install -y busybox-static' failed; install it yourself."
fi
is_static "${BUSYBOX}" || die "a static busybox is needed at ${BUSYBOX} (Debian/Ubuntu: 'apt-get install -y busybox-static')."
