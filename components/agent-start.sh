#!/bin/sh
# Starts the Consul agent: after one check that keeps a changed gossip key from splitting the cluster,
# and, on its first start, once what it needs from other agents exists.
#
# An agent that has run before keeps its gossip keyring in its data dir and ignores the `encrypt` key
# in its config from then on. So if the stack's gossipKey changes without a rotation, agents with old
# data keep the old key while new agents take the new one, and they can no longer talk: the cluster
# splits, silently. Instead, an agent whose keyring lacks the configured key refuses to start, and
# says what to do. The key itself is never printed.
set -eu

key=$(sed -n 's/.*"encrypt": *"\([^"]*\)".*/\1/p' /consul/config/gossip.json)
for keyring in /consul/data/serf/local.keyring /consul/data/serf/remote.keyring; do
  if [ -f "$keyring" ] && ! grep -qF "\"$key\"" "$keyring"; then
    echo "consul-multi-dc: the stack's gossip key is not in this agent's keyring ($keyring)." >&2
    echo "consul-multi-dc: rotate it with 'consul keyring' first (README: Rotating the gossip key), then change gossipKey." >&2
    exit 1
  fi
done

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

exec /bin/consul agent -config-dir=/consul/config
