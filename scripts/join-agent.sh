#!/usr/bin/env bash
# One more Consul client agent, joined to the stack's primary datacenter on its Docker host:
# scripts/join-agent.ts says how.
#
# Usage: scripts/join-agent.sh [--name NAME] [--stack STACK]      start NAME (default laptop-agent)
#        scripts/join-agent.sh --remove [--name NAME] [--stack STACK]
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec "${REPO_DIR}/node_modules/.bin/tsx" "${REPO_DIR}/scripts/join-agent.ts" "$@"
