#!/usr/bin/env bash
# The seed: the classic docker demo this project grew from (../../../shared/000_673a1bc838eacafc.txt),
# stood up the way its run.sh does, as the benchmark's baseline: one `docker run` per agent, all on one
# flat network, each agent reading its own JSON file from config/. Same Consul image as the stack.
#
# Usage: bench/seed/run.sh up IMAGE NETWORK      bench/seed/run.sh down NETWORK
#
# The config files are the demo's, changed only where Consul 1.22 requires it:
#   - "ui_config": {"enabled": true} instead of "ui" and "ui_dir" (ui_dir pointed at a UI download;
#     the UI is built into Consul now);
#   - "data_dir" on the clients: the demo's old image's entrypoint supplied it, and an agent has none
#     without it;
#   - dc2-server1 joins dc1 with "retry_join_wan" (and the WAN twins of the demo's retry_interval 30s and
#     retry_max 10), because Consul now refuses a LAN join across datacenters;
#   - the post shows dc1's configs only; dc2's are dc1's with datacenter dc2, bootstrap_expect 1 (it has
#     one server), and dc2-client1 joining dc2-server1.
# Everything else is as the demo had it: retry_interval 30s, retry_max 10, the post's gossip key, default
# Raft timing, no ACLs and no TLS.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AGENTS=(dc1-server1 dc1-server2 dc1-server3 dc1-client1 dc2-server1 dc2-client1)

case "${1:-}" in
  up)
    IMAGE=$2 NETWORK=$3
    docker network create --label consul.bench=seed "${NETWORK}" >/dev/null
    for agent in "${AGENTS[@]}"; do
      # As the demo: the container name is the address the others join; config by bind mount.
      docker run -d --name "${agent}" --hostname "${agent}" --network "${NETWORK}" --label consul.bench=seed \
        -v "${HERE}/config/${agent}.json:/consul/config/${agent}.json:ro" "${IMAGE}" agent >/dev/null
    done
    ;;
  down)
    NETWORK=$2
    docker rm -f -v "${AGENTS[@]}" >/dev/null 2>&1 || true
    docker network rm "${NETWORK}" >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 up IMAGE NETWORK | down NETWORK" >&2; exit 2 ;;
esac
