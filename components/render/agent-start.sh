#!/bin/sh
# Starts the Consul agent: after one check that keeps a changed gossip key from splitting the cluster,
# and, on its first start, once what it needs from other agents exists. Then it stays, as PID 1, to stop
# the agent gracefully (see the end).
#
# An agent that has run before keeps its gossip keyring in its data dir and ignores the `encrypt` key
# in its config from then on. So if the stack's gossipKey changes without a rotation, agents with old
# data keep the old key while new agents take the new one, and they can no longer talk: the cluster
# splits, silently. Instead, an agent whose keyring lacks the configured key refuses to start, and
# says what to do. The key itself is never printed.
set -eu

# The agent's files (config, certificates, tokens, the first-start wait) arrive as one script: write them.
sh /consul/files.sh

key=$(sed -n 's/.*"encrypt": *"\([^"]*\)".*/\1/p' /consul/config/gossip.json)
for keyring in /consul/data/serf/local.keyring /consul/data/serf/remote.keyring; do
  if [ -f "$keyring" ] && ! grep -qF "\"$key\"" "$keyring"; then
    echo "consul-multi-dc: the stack's gossip key is not in this agent's keyring ($keyring)." >&2
    echo "consul-multi-dc: rotate it with 'consul keyring' first (README: Rotating the gossip key), then change gossipKey." >&2
    exit 1
  fi
done

agent=
# Docker's SIGTERM (docker stop, or the engine replacing this container). A Raft leader that just
# exits leaves its datacenter without a leader until the followers' heartbeat timeout and an election
# (~2 s), and servers keep forwarding writes to its vanished address until their dial times out (10 s).
# So a leading server first hands leadership to another voter, which takes a few milliseconds, and
# only then stops. Servers stay Raft voters when they stop (server.hcl); clients leave (client.hcl).
stop() {
  if [ -z "$agent" ]; then exit 0; fi
  self=$(sed -n 's/.*"advertise_addr": *"\([^"]*\)".*/\1/p' /consul/config/agent.json)
  if [ "$(wget -q -O - http://127.0.0.1:8500/v1/status/leader 2>/dev/null)" = "\"$self:8300\"" ]; then
    # The primary's servers hold the management token, a secondary's the replication token: both may
    # use operator:write. The token goes to the CLI in its environment, never on a command line.
    token=$(sed -n -e 's/.*"initial_management": *"\([^"]*\)".*/\1/p' -e 's/.*"replication": *"\([^"]*\)".*/\1/p' /consul/config/acl-tokens.json)
    CONSUL_HTTP_TOKEN="$token" /bin/consul operator raft transfer-leader >&2 ||
      echo "consul-multi-dc: could not hand over leadership (no other voter?); stopping anyway" >&2
  fi
  kill -TERM "$agent" 2>/dev/null || true
}
trap stop TERM INT

# A first start waits for what this agent needs from others (agent-ready.sh, generated per agent by
# components/agent-ready.ts). An agent that has run before (it has a node ID) starts at once, so a
# restart never waits on another datacenter.
if [ -f /consul/bin/agent-ready.sh ] && [ ! -f /consul/data/node-id ]; then
  . /consul/bin/agent-ready.sh
  # Every 200 ms for the first 5 s, then every second: each try runs the consul CLI, and many agents
  # trying at once on a small machine would slow the very servers they wait for.
  tries=0
  until ready; do
    tries=$((tries + 1))
    if [ $((tries % 30)) -eq 0 ]; then echo "consul-multi-dc: still waiting for ${waiting_for}" >&2; fi
    if [ "$tries" -lt 25 ]; then sleep 0.2; else sleep 1; fi
  done
fi

# A new data dir takes the node ID the stack derived from this agent's datacenter and name (node-id.ts),
# not a random one, so that a snapshot restored from another stack lists this agent as itself. A data
# dir that has one keeps it: changing a running agent's ID would change a server's Raft identity.
if [ ! -f /consul/data/node-id ] && [ -n "${CONSUL_NODE_ID:-}" ]; then
  printf '%s' "$CONSUL_NODE_ID" >/consul/data/node-id
fi

/bin/consul agent -config-dir=/consul/config &
agent=$!
# `wait` returns early when a signal arrives; keep waiting until the agent has exited, and exit as it
# did, so Docker's restart policy sees a crash (e.g. kill -9 of the agent) as one.
while :; do
  if wait "$agent"; then status=0; else status=$?; fi
  kill -0 "$agent" 2>/dev/null || exit "$status"
done
