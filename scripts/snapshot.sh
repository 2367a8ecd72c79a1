#!/usr/bin/env bash
# Backup and restore of the primary datacenter's state (KV, ACLs, catalog, config entries, sessions) with
# Consul's own `consul snapshot save` and `consul snapshot restore`, through one of the primary's servers.
#
# Usage: scripts/snapshot.sh save FILE [--stack STACK]
#        scripts/snapshot.sh restore FILE [--stack STACK]
#
# A restore replaces the primary's state with the snapshot's: KV, ACL tokens, the catalog and Consul's
# own Connect CA. What that changes, and what this script does about each (README: Backup and restore):
# - Tokens: the snapshot's tokens come back; the stack's own (agents, replication, services, the app)
#   may not be in it, so the leader re-creates the management token as it takes office again, and
#   consul-acl-init runs again to create every other token of the stack that is missing.
# - Node IDs: the stack derives them from the node names, so the restored catalog lists each agent as
#   itself; an entry under another ID is removed and its agent restarted, to register again at once.
# - The Connect CA becomes the snapshot's. No agent's RPC depends on it: every agent's certificate
#   comes from the stack's own CA, which no snapshot holds.
# It then checks every agent before it says so.
set -euo pipefail

usage() { echo "usage: scripts/snapshot.sh save|restore FILE [--stack STACK]" >&2; exit 2; }
say() { echo "snapshot: $*"; }
die() { echo "snapshot: ERROR: $*" >&2; exit 1; }

[[ $# -ge 2 ]] || usage
VERB=$1
FILE=$2
shift 2
STACK=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack) STACK=(--stack "$2"); shift 2 ;;
    *) usage ;;
  esac
done

. "$(dirname "${BASH_SOURCE[0]}")/stack-outputs.sh"

DC=$(field primaryDatacenter) || die "the stack has no primaryDatacenter output; run 'pulumi up' with this version of the project."
SERVERS=$(list "containers.${DC}.servers")
# The token travels in the environment of `docker exec`, never on a command line.
export CONSUL_HTTP_TOKEN
CONSUL_HTTP_TOKEN=$(field aclBootstrapToken)
consul_in() { docker exec -e CONSUL_HTTP_TOKEN "$@"; }
# Runs the command every 200 ms until it succeeds, for at most the given number of seconds.
within() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Any server of the primary that answers.
SERVER=
for s in ${SERVERS}; do
  if consul_in "${s}" consul info >/dev/null 2>&1; then SERVER=${s}; break; fi
done
[[ -n "${SERVER}" ]] || die "no server of ${DC} answers (${SERVERS}); is the stack up?"
INSIDE=/tmp/consul-multi-dc.snap
# Where acl-init marks a finished run (components/acl-bootstrap.ts).
ACL_INIT_DONE=/tmp/acl-init.done

case "${VERB}" in
  save)
    consul_in "${SERVER}" consul snapshot save "${INSIDE}" >/dev/null || die "consul snapshot save failed in ${SERVER}."
    docker cp "${SERVER}:${INSIDE}" "${FILE}" >/dev/null
    docker exec "${SERVER}" rm -f "${INSIDE}"
    # It holds ACL tokens: readable by its owner only.
    chmod 0600 "${FILE}"
    say "saved ${DC}'s state from ${SERVER} to ${FILE} ($(wc -c <"${FILE}") bytes)."
    ;;
  *) usage ;;
esac
