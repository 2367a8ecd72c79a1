# shellcheck shell=bash
# Sourced by the scripts in scripts/: what they share. Set LIB_NAME to the script's name first; its
# messages start with it. LIB_ELAPSED=1 as well starts each `say` line with how long the script has run.
#
#   LIB_NAME=ensure-docker
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Defines:
#   say MESSAGE...         "NAME: MESSAGE" on stdout ("NAME: [N ms] MESSAGE" with LIB_ELAPSED=1)
#   die MESSAGE...         "NAME: ERROR: MESSAGE" on stderr, then exit 1
#   within SECONDS CMD...  runs CMD every 200 ms until it succeeds; fails if it has not within SECONDS
#   find_go                sets GO to the Go toolchain's go; fails (GO empty) if there is none
#   can_apt_get            succeeds if this process may install Debian packages (root, Debian, apt-get)
#   apt_install PKG...     says so, then apt-get update and install PKG quietly; fails as apt-get does
[[ -n "${LIB_NAME:-}" ]] || { echo "scripts/lib.sh: set LIB_NAME before sourcing it." >&2; exit 2; }

if [[ "${LIB_ELAPSED:-0}" == 1 ]]; then
  LIB_STARTED=$(date +%s%N)
  say() { echo "${LIB_NAME}: [$(( ($(date +%s%N) - LIB_STARTED) / 1000000 )) ms] $*"; }
else
  say() { echo "${LIB_NAME}: $*"; }
fi
die() { echo "${LIB_NAME}: ERROR: $*" >&2; exit 1; }

within() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# The go on PATH, else where https://go.dev/dl/ says to unpack it.
find_go() {
  GO=$(command -v go || true)
  [[ -n "${GO}" || ! -x /usr/local/go/bin/go ]] || GO=/usr/local/go/bin/go
  [[ -n "${GO}" ]]
}

can_apt_get() { [[ $(id -u) -eq 0 && -r /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  say "installing $* with apt-get..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}
