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
# - Certificates: none change. Every agent's certificate comes from the stack's own CA, which no snapshot
#   holds, and Connect (whose CA the snapshot would carry) is off (consul-config/common.hcl).
# It then checks every agent before it says so.
set -euo pipefail

usage() { echo "usage: scripts/snapshot.sh save|restore FILE [--stack STACK]" >&2; exit 2; }
LIB_NAME=snapshot
# Each line says how long the script has run, so a slow step shows.
LIB_ELAPSED=1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

# Any server of the primary that answers.
SERVER=
for s in ${SERVERS}; do
  if consul_in "${s}" consul info >/dev/null 2>&1; then SERVER=${s}; break; fi
done
[[ -n "${SERVER}" ]] || die "no server of ${DC} answers (${SERVERS}); is the stack up?"
INSIDE=/tmp/consul-multi-dc.snap
# Where acl-init marks a finished run (components/resources/acl-bootstrap.ts).
ACL_INIT_DONE=/tmp/acl-init.done

case "${VERB}" in
  save)
    consul_in "${SERVER}" consul snapshot save "${INSIDE}" >/dev/null || die "consul snapshot save failed in ${SERVER}."
    # It holds ACL tokens: readable by its owner only, from the moment it exists. docker cp creates it with
    # the mode it has in the server (0600: consul snapshot save writes it so) less the umask, and sets that
    # mode once written.
    (umask 077 && docker cp "${SERVER}:${INSIDE}" "${FILE}" >/dev/null)
    docker exec "${SERVER}" rm -f "${INSIDE}"
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
    # Its done file survives a restart, so it goes first: the file then says this run finished.
    ACL_INIT=$(docker ps -a --filter "label=consul.stack=$(docker inspect --format '{{index .Config.Labels "consul.stack"}}' "${SERVER}")" \
      --filter label=consul.role=acl-init --format '{{.Names}}' | head -n1)
    [[ -n "${ACL_INIT}" ]] || die "no acl-init container of this stack."
    docker exec "${ACL_INIT}" rm -f "${ACL_INIT_DONE}"
    docker restart "${ACL_INIT}" >/dev/null
    within 60 docker exec "${ACL_INIT}" test -f "${ACL_INIT_DONE}" || die "${ACL_INIT} did not finish; see 'docker logs ${ACL_INIT}'."
    say "the stack's tokens are in place again (${ACL_INIT})."

    # The stack's agents have the node IDs their names give them (components/model/node-id.ts), so a snapshot of
    # any stack of this project lists them as themselves. One that lists a name under another ID (taken
    # with an older version of the project, say) makes the catalog refuse that agent. Those entries go,
    # and each such agent restarts: the leader registers an agent as soon as it sees it join.
    catalog_id() { consul_in "${SERVER}" consul catalog nodes -detailed -datacenter "$2" | awk -v n="$1" '$1 == n { print $2 }'; }
    listed_as_itself() { [[ "$(catalog_id "$1" "$2")" == "$(docker exec "$1" cat /consul/data/node-id)" ]]; }
    STALE=()
    for a in ${SERVERS} $(list "containers.${DC}.clients"); do
      [[ -z "$(catalog_id "${a}" "${DC}")" ]] || listed_as_itself "${a}" "${DC}" || STALE+=("${a}")
    done
    if [[ ${#STALE[@]} -gt 0 ]]; then
      say "the snapshot lists ${STALE[*]} under other node IDs: removing those entries and restarting them."
      # Through the API (the consul CLI has no command for it), with the token in this process only.
      field caCertPem >"${TMPDIR:-/tmp}/snapshot-ca.$$.pem"
      trap 'rm -f "${TMPDIR:-/tmp}/snapshot-ca.$$.pem"' EXIT
      # shellcheck disable=SC2016  # the $ is node's, in a template string
      node -e '
        const https = require("node:https"), fs = require("node:fs");
        const [addr, caFile, ...nodes] = process.argv.slice(1);
        const [host, port] = addr.split(":");
        const put = (node) => new Promise((ok, fail) => https.request({ host, port, method: "PUT", path: "/v1/catalog/deregister",
          ca: fs.readFileSync(caFile), headers: { "X-Consul-Token": process.env.CONSUL_HTTP_TOKEN } },
          (r) => { r.resume(); r.statusCode === 200 ? ok() : fail(new Error(`deregister ${node}: HTTP ${r.statusCode}`)); }).on("error", fail).end(JSON.stringify({ Node: node })));
        (async () => { for (const n of nodes) await put(n); })().catch((e) => { console.error(e.message); process.exit(1); });
      ' "$(field "httpAddrs.${DC}")" "${TMPDIR:-/tmp}/snapshot-ca.$$.pem" "${STALE[@]}" || die "could not remove the stale catalog entries."
      # One at a time: a server restarts only once the one before is registered again, so Raft keeps its quorum.
      for a in "${STALE[@]}"; do
        docker restart --time 30 "${a}" >/dev/null
        within 60 listed_as_itself "${a}" "${DC}" || die "${a} did not register again within 60 s; see 'docker logs ${a}'."
      done
    fi

    # Checked, not assumed: every agent of every datacenter is healthy, listed as itself in its
    # datacenter's catalog, and answers a request that goes to its servers over RPC (a token read). The
    # agents are checked side by side, so the wait is the slowest agent's, not the sum.
    AGENTS=$(field containers | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const[dc,c]of Object.entries(JSON.parse(s)))for(const a of[...c.servers,...c.clients])console.log(dc,a)})')
    healthy() { [[ "$(docker inspect --format '{{.State.Health.Status}}' "$1")" == healthy ]]; }
    answers() { consul_in "$1" consul acl token read -self >/dev/null 2>&1; }
    # Each runs in a background subshell, so its `die` ends that check alone, with its message.
    works() {
      within 60 healthy "$2" || die "$2 is not healthy; see 'docker logs $2'."
      within 60 listed_as_itself "$2" "$1" || die "$1's catalog does not list $2 under its node ID."
      within 30 answers "$2" || die "$2 cannot reach its servers; see 'docker logs $2'."
    }
    CHECKS=()
    while read -r dc a; do
      works "${dc}" "${a}" &
      CHECKS+=($!)
    done <<<"${AGENTS}"
    FAILED=0
    for pid in "${CHECKS[@]}"; do wait "${pid}" || FAILED=1; done
    ((FAILED == 0)) || die "not every agent works with the restored state (above)."
    say "every agent ($(wc -l <<<"${AGENTS}")) is healthy, listed under its own node ID and answers through its servers."
    ;;
  *) usage ;;
esac
