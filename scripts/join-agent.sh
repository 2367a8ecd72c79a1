#!/usr/bin/env bash
# "Join your laptop's agent": start one more Consul client agent, in a container of its own, joined to the
# primary datacenter with the stack's gossip key, CA and a token of its own, as the demo recommends for
# development: your app then talks to this local agent like any other.
#
# Usage: scripts/join-agent.sh [--name NAME] [--stack STACK]      start NAME (default laptop-agent)
#        scripts/join-agent.sh --remove [--name NAME] [--stack STACK]
#
# Its config is the one the stack rendered for the datacenter's first client, with its own name and token;
# the gossip key and tokens travel in files and environment variables, never in a command line. Remove the agent before `pulumi destroy`,
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

LIB_NAME=join-agent
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

. "$(dirname "${BASH_SOURCE[0]}")/stack-outputs.sh"

DC=$(field primaryDatacenter) || die "the stack has no primaryDatacenter output; run 'pulumi up' with this version of the project."
SERVER=$(field "containers.${DC}.servers.0") || die "the stack lists no server in ${DC}."
export CONSUL_HTTP_TOKEN
CONSUL_HTTP_TOKEN=$(field aclBootstrapToken)

# Removes the agent's container, its catalog entry and its token: the one with accessor ID $1, or without
# it the one described as this agent's (if any).
remove_agent() {
  local accessor=${1:-}
  docker exec "${NAME}" consul leave >/dev/null 2>&1 || true
  docker rm -f -v "${NAME}" >/dev/null 2>&1 || true
  docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul force-leave -prune "${NAME}" >/dev/null 2>&1 || true
  [[ -n "${accessor}" ]] || accessor=$(docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul acl token list -format json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=JSON.parse(s).find(t=>t.Description===process.argv[1]);if(t)console.log(t.AccessorID)})' "agent token for ${NAME}")
  [[ -z "${accessor}" ]] || docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul acl token delete -accessor-id "${accessor}" >/dev/null
}

if ((REMOVE)); then
  remove_agent
  say "removed ${NAME} and its token."
  exit 0
fi

docker container inspect "${NAME}" >/dev/null 2>&1 && die "a container named ${NAME} exists already; remove it with --remove."
# The same image and LAN as the primary's servers, found from the running server.
IMAGE=$(docker inspect --format '{{.Config.Image}}' "${SERVER}") || die "${SERVER} is not running; run 'pulumi up'."
LAN=$(docker inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' "${SERVER}" | grep -e '-lan$' | head -n1)
STACK_LABEL=$(docker inspect --format '{{index .Config.Labels "consul.stack"}}' "${SERVER}")

# Until the agent has joined, any exit (an error, a signal) removes what this run made: the files, the
# half-made container, and the token, which would otherwise stay valid with no agent to use it.
ACCESSOR=
DIR=
JOINED=0
# shellcheck disable=SC2317  # run by the trap
cleanup() {
  [[ -z "${DIR}" ]] || rm -rf "${DIR}"
  if [[ -n "${ACCESSOR}" ]] && ((!JOINED)); then
    if remove_agent "${ACCESSOR}"; then
      say "removed the half-started ${NAME} and its token." >&2
    else
      say "removed ${NAME}, but could not delete its token (accessor ID ${ACCESSOR}); run with --remove." >&2
    fi
  fi
}
trap cleanup EXIT

# Its own token, a node identity, like every agent of the stack: "ACCESSOR SECRET".
TOKEN=$(docker exec -e CONSUL_HTTP_TOKEN "${SERVER}" consul acl token create -description "agent token for ${NAME}" \
  -node-identity "${NAME}:${DC}" -format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=JSON.parse(s);console.log(t.AccessorID,t.SecretID)})') ||
  die "could not create a token for ${NAME}."
ACCESSOR=${TOKEN%% *}
TOKEN=${TOKEN#* }

DIR=$(mktemp -d)
mkdir -p "${DIR}/consul/config" "${DIR}/consul/tls"
# Its config is the stack's own, as rendered for the datacenter's first client agent: the base files, the
# gossip key, the CA and the client certificate the servers accept RPC with, and agent.json with this
# agent's name (the key and certificate go from container to container, never to the terminal). Only its
# token is its own, and its address is whatever Docker gives it, so it advertises that.
CLIENT=$(field "containers.${DC}.clients.0") || die "${DC} has no client agent to take its config from; give it one (clients: 1)."
for f in config/common.hcl config/client.hcl config/agent.json config/gossip.json tls/ca.pem tls/client.pem tls/client-key.pem; do
  docker cp "${CLIENT}:/consul/${f}" "${DIR}/consul/${f}" >/dev/null || die "could not copy /consul/${f} from ${CLIENT}; is it running?"
done
AGENT_TOKEN="${TOKEN}" node -e '
const fs = require("node:fs");
const [dir, name] = process.argv.slice(1);
const token = process.env.AGENT_TOKEN;
const file = `${dir}/consul/config/agent.json`;
const { advertise_addr, ...config } = JSON.parse(fs.readFileSync(file, "utf8"));
fs.writeFileSync(file, JSON.stringify({ ...config, node_name: name }, null, 2));
fs.writeFileSync(`${dir}/consul/config/acl-tokens.json`, JSON.stringify({ acl: { tokens: { agent: token } } }, null, 2));
' "${DIR}" "${NAME}"
chmod 0644 "${DIR}/consul/config/"* "${DIR}/consul/tls/"*.pem

docker create --name "${NAME}" --hostname "${NAME}" --network "${LAN}" --user consul \
  --label "consul.stack=${STACK_LABEL}" --label "consul.datacenter=${DC}" --label "consul.role=laptop-agent" \
  --entrypoint /bin/consul "${IMAGE}" agent -config-dir=/consul/config >/dev/null
tar -C "${DIR}" --owner=0 --group=0 -cf - consul | docker cp - "${NAME}:/"
docker start "${NAME}" >/dev/null

# shellcheck disable=SC2317  # run by within
joined() { docker exec -e CONSUL_HTTP_TOKEN "${NAME}" consul members 2>/dev/null | grep -q "^${NAME} .* alive "; }
if within 60 joined; then
  JOINED=1
  say "${NAME} joined ${DC}:"
  docker exec -e CONSUL_HTTP_TOKEN "${NAME}" consul members
  exit 0
fi
docker logs --tail 20 "${NAME}" >&2
die "${NAME} did not join ${DC} within 60s (its log is above)."
