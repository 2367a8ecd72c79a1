#!/usr/bin/env bash
# Backup and restore of every cluster of a stack: scripts/snapshot.ts says how.
#
# Usage: scripts/snapshot.sh save FILE [--stack STACK]
#        scripts/snapshot.sh restore FILE [--stack STACK]
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec "${REPO_DIR}/node_modules/.bin/tsx" "${REPO_DIR}/scripts/snapshot.ts" "$@"
