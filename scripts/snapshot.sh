#!/usr/bin/env bash
# Backup and restore of the primary datacenter's state (KV, ACLs, catalog, config entries, sessions) with
# Consul's own `consul snapshot save` and `consul snapshot restore`, through one of the primary's servers.
#
# Usage: scripts/snapshot.sh save FILE [--stack STACK]
#        scripts/snapshot.sh restore FILE [--stack STACK]
#
# A restore replaces the primary's state with the snapshot's, ACL tokens included. The stack's own tokens
# (agents, replication, services, the app) may not be in the snapshot, e.g. when it comes from a stack
# since destroyed, so the restore then puts them back: the leader re-creates the stack's management token
# itself when it takes office again after the restore, then consul-acl-init runs again and creates every
# other token of the stack that is missing. Keys and tokens of the snapshot stay as they are.
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
# Runs the command once a second until it succeeds, for at most the given number of seconds.
within() {
  local seconds=$1 i
  shift
  for ((i = 1; i < seconds; i++)); do "$@" && return 0; sleep 1; done
  "$@"
}

# Any server of the primary that answers.
SERVER=
for s in ${SERVERS}; do
  if consul_in "${s}" consul info >/dev/null 2>&1; then SERVER=${s}; break; fi
done
[[ -n "${SERVER}" ]] || die "no server of ${DC} answers (${SERVERS}); is the stack up?"
INSIDE=/tmp/consul-multi-dc.snap

case "${VERB}" in
  save)
    consul_in "${SERVER}" consul snapshot save "${INSIDE}" >/dev/null || die "consul snapshot save failed in ${SERVER}."
    docker cp "${SERVER}:${INSIDE}" "${FILE}" >/dev/null
    docker exec "${SERVER}" rm -f "${INSIDE}"
    # It holds ACL tokens: readable by its owner only.
    chmod 0600 "${FILE}"
    say "saved ${DC}'s state from ${SERVER} to ${FILE} ($(wc -c <"${FILE}") bytes)."
    ;;
  restore)
    [[ -r "${FILE}" ]] || die "cannot read ${FILE}."
    docker cp "${FILE}" "${SERVER}:${INSIDE}" >/dev/null
    docker exec -u root "${SERVER}" chmod 0644 "${INSIDE}"
    consul_in "${SERVER}" consul snapshot restore "${INSIDE}" >/dev/null || die "consul snapshot restore failed in ${SERVER}."
    docker exec -u root "${SERVER}" rm -f "${INSIDE}"
    say "restored ${FILE} into ${DC} through ${SERVER}."

    within 60 consul_in "${SERVER}" consul acl token read -self >/dev/null 2>&1 ||
      die "the stack's management token did not come back; see 'docker logs ${SERVER}'."
    # acl-init creates what is missing and leaves what exists (the snapshot's keys win over the KV seed).
    ACL_INIT=$(docker ps -a --filter "label=consul.stack=$(docker inspect --format '{{index .Config.Labels "consul.stack"}}' "${SERVER}")" \
      --filter label=consul.role=acl-init --format '{{.Names}}' | head -n1)
    [[ -n "${ACL_INIT}" ]] || die "no acl-init container of this stack."
    docker restart "${ACL_INIT}" >/dev/null
    healthy() { [[ "$(docker inspect --format '{{.State.Health.Status}}' "$1")" == healthy ]]; }
    within 120 healthy "${ACL_INIT}" || die "${ACL_INIT} did not finish; see 'docker logs ${ACL_INIT}'."

    # A new stack's agents have new node IDs, while the restored catalog still holds the old ones under the
    # same node names, so their registrations are refused ("Node name … is reserved by node …"). Those
    # stale entries go; each agent then registers itself again, with its services and checks.
    catalog_id() { consul_in "${SERVER}" consul catalog nodes -detailed | awk -v n="$1" '$1 == n { print $2 }'; }
    listed_as_itself() { [[ "$(catalog_id "$1")" == "$(docker exec "$1" cat /consul/data/node-id)" ]]; }
    STALE=()
    for a in ${SERVERS} $(list "containers.${DC}.clients"); do
      [[ -z "$(catalog_id "${a}")" ]] || listed_as_itself "${a}" || STALE+=("${a}")
    done
    if [[ ${#STALE[@]} -gt 0 ]]; then
      say "re-registering ${STALE[*]}: the snapshot's catalog knew them by other node IDs."
      field caCertPem >"${TMPDIR:-/tmp}/snapshot-ca.$$.pem"
      trap 'rm -f "${TMPDIR:-/tmp}/snapshot-ca.$$.pem"' EXIT
      node -e '
        const https = require("node:https"), fs = require("node:fs");
        const [addr, caFile, ...nodes] = process.argv.slice(1);
        const [host, port] = addr.split(":");
        const put = (node) => new Promise((ok, fail) => https.request({ host, port, method: "PUT", path: "/v1/catalog/deregister",
          ca: fs.readFileSync(caFile), headers: { "X-Consul-Token": process.env.CONSUL_HTTP_TOKEN } },
          (r) => { r.resume(); r.statusCode === 200 ? ok() : fail(new Error(`deregister ${node}: HTTP ${r.statusCode}`)); }).on("error", fail).end(JSON.stringify({ Node: node })));
        (async () => { for (const n of nodes) await put(n); })().catch((e) => { console.error(e.message); process.exit(1); });
      ' "$(field "httpAddrs.${DC}")" "${TMPDIR:-/tmp}/snapshot-ca.$$.pem" "${STALE[@]}" || die "could not remove the stale catalog entries."
      for a in "${STALE[@]}"; do consul_in "${a}" consul reload >/dev/null || true; done
      # Each agent's next anti-entropy sync registers it again; that can take up to a minute.
      for a in "${STALE[@]}"; do
        within 120 listed_as_itself "${a}" || die "${a} did not register again within 120 s; see 'docker logs ${a}'."
      done
    fi

    say "the stack's tokens are in place; every agent works with the restored state."
    ;;
  *) usage ;;
esac
