#!/usr/bin/env bash
# "Join your laptop's agent": start one more Consul client agent, in a container of its own, joined to the
# primary datacenter with the stack's gossip key, CA and a token of its own, as the demo recommends for
# development: your app then talks to this local agent like any other.
#
# Usage: scripts/join-agent.sh [--name NAME] [--stack STACK]      start NAME (default laptop-agent)
#        scripts/join-agent.sh --remove [--name NAME] [--stack STACK]
#
# Everything comes from the stack outputs (`pulumi stack output`); the gossip key and tokens travel in
# files and environment variables, never in a command line. Remove the agent before `pulumi destroy`,
# which cannot delete a network a container still uses (`npm run cluster:down` sweeps it too).
set -euo pipefail

NAME=laptop-agent
STACK=()
REMOVE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) NAME=$2; shift 2 ;;
    --stack) STACK=(--stack "$2"); shift 2 ;;
    --remove) REMOVE=1; shift ;;
    *) echo "join-agent: unknown argument $1; use --name NAME, --stack STACK, --remove" >&2; exit 2 ;;
  esac
done

say() { echo "join-agent: $*"; }
die() { echo "join-agent: ERROR: $*" >&2; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/stack-outputs.sh"

DC=$(field primaryDatacenter) || die "the stack has no primaryDatacenter output; run 'pulumi up' with this version of the project."
SERVER=$(field "containers.${DC}.servers.0") || die "the stack lists no server in ${DC}."
export CONSUL_HTTP_TOKEN
CONSUL_HTTP_TOKEN=$(field aclBootstrapToken)

if ((REMOVE)); then
  docker exec "${NAME}" consul leave >/dev/null 2>&1 || true
  docker rm -f -v "${NAME}" >/dev/null 2>&1 || true
  docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul force-leave -prune "${NAME}" >/dev/null 2>&1 || true
  accessor=$(docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul acl token list -format json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=JSON.parse(s).find(t=>t.Description===process.argv[1]);if(t)console.log(t.AccessorID)})' "agent token for ${NAME}")
  [[ -z "${accessor}" ]] || docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul acl token delete -accessor-id "${accessor}" >/dev/null
  say "removed ${NAME} and its token."
  exit 0
fi

docker container inspect "${NAME}" >/dev/null 2>&1 && die "a container named ${NAME} exists already; remove it with --remove."
# The same image and LAN as the primary's servers, found from the running server.
IMAGE=$(docker inspect --format '{{.Config.Image}}' "${SERVER}") || die "${SERVER} is not running; run 'pulumi up'."
LAN=$(docker inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' "${SERVER}" | grep -e '-lan$' | head -n1)
STACK_LABEL=$(docker inspect --format '{{index .Config.Labels "consul.stack"}}' "${SERVER}")
SERVER_IP=$(docker inspect --format "{{(index .NetworkSettings.Networks \"${LAN}\").IPAddress}}" "${SERVER}")

# Its own token, a node identity, like every agent of the stack.
TOKEN=$(docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul acl token create -description "agent token for ${NAME}" \
  -node-identity "${NAME}:${DC}" -format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).SecretID))') ||
  die "could not create a token for ${NAME}."

DIR=$(mktemp -d)
trap 'rm -rf "${DIR}"' EXIT
mkdir -p "${DIR}/consul/config" "${DIR}/consul/tls"
field caCertPem >"${DIR}/consul/tls/ca.pem"
# The servers accept RPC only with a certificate from the stack's CA: the datacenter's client certificate,
# copied from its first client agent (the key goes from container to container, never to the terminal).
CLIENT=$(field "containers.${DC}.clients.0") || die "${DC} has no client agent to take the client certificate from; give it one (clients: 1)."
for f in client.pem client-key.pem; do
  docker cp "${CLIENT}:/consul/tls/${f}" "${DIR}/consul/tls/${f}" >/dev/null || die "could not copy ${f} from ${CLIENT}; is it running?"
done
# The same settings as the stack's own client agents (consul-config/common.hcl and client.hcl), in JSON.
node -e '
const [name, dc, server, key, token] = process.argv.slice(1);
console.log(JSON.stringify({
  node_name: name, datacenter: dc, primary_datacenter: dc, server: false,
  data_dir: "/consul/data", bind_addr: "0.0.0.0", client_addr: "0.0.0.0",
  retry_join: [server], retry_interval: "2s", leave_on_terminate: true,
  encrypt: key, encrypt_verify_incoming: true, encrypt_verify_outgoing: true,
  tls: {
    defaults: { ca_file: "/consul/tls/ca.pem", cert_file: "/consul/tls/client.pem", key_file: "/consul/tls/client-key.pem", verify_outgoing: true },
    internal_rpc: { verify_server_hostname: true },
  },
  acl: { enabled: true, default_policy: "deny", down_policy: "extend-cache", enable_token_persistence: true, tokens: { agent: token } },
  disable_update_check: true,
}, null, 2));' "${NAME}" "${DC}" "${SERVER_IP}" "$(field gossipKey)" "${TOKEN}" >"${DIR}/consul/config/agent.json"
chmod 0644 "${DIR}/consul/config/agent.json" "${DIR}/consul/tls/"*.pem

docker create --name "${NAME}" --hostname "${NAME}" --network "${LAN}" --user consul \
  --label "consul.stack=${STACK_LABEL}" --label "consul.datacenter=${DC}" --label "consul.role=laptop-agent" \
  --entrypoint /bin/consul "${IMAGE}" agent -config-dir=/consul/config >/dev/null
tar -C "${DIR}" --owner=0 --group=0 -cf - consul | docker cp - "${NAME}:/"
docker start "${NAME}" >/dev/null

for _ in $(seq 1 60); do
  if docker exec -e CONSUL_HTTP_TOKEN "${NAME}" consul members 2>/dev/null | grep -q "^${NAME} .* alive "; then
    say "${NAME} joined ${DC}:"
    docker exec -e CONSUL_HTTP_TOKEN "${NAME}" consul members
    exit 0
  fi
  sleep 1
done
docker logs --tail 20 "${NAME}" >&2
die "${NAME} did not join ${DC} within 60s (its log is above)."
