#!/bin/sh
# Starts the Consul agent, after one check that keeps a changed gossip key from splitting the cluster.
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

exec /bin/consul agent -config-dir=/consul/config
