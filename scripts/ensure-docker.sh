#!/usr/bin/env bash
# Make sure a Docker Engine answers on this machine.
# - Already answering: exit 0 at once.
# - Root on Debian, no engine running: install docker.io if needed, start dockerd in the
#   background (it must outlive this script), wait until it answers.
# - Anything else: say what to install or start, exit 1.
set -euo pipefail

LOG=/var/log/consul-multi-dc-dockerd.log
WAIT_SECONDS=60

LIB_NAME=ensure-docker
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

engine_up() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if engine_up; then
  say "Docker Engine is running (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))."
  exit 0
fi

# A remote or custom engine is the user's business: starting a local dockerd would not fix it.
if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]]; then
  die "DOCKER_HOST=${DOCKER_HOST} does not answer 'docker info'. Start that engine, or unset DOCKER_HOST to use a local one."
fi

if ! can_apt_get; then
  die "no Docker Engine answers 'docker info'. Install Docker Engine (Debian/Ubuntu: 'sudo apt-get install -y docker.io'), start it (e.g. 'sudo systemctl start docker' or 'sudo dockerd &'), and make sure your user can use it (member of the 'docker' group), then re-run."
fi

# Some dockerd is already there (e.g. still starting up): give it the same bounded wait instead
# of starting a second daemon on the same socket.
# The default engine's own pidfile: other dockerds (scripts/test-hosts.sh runs two) have their own sockets.
if pid=$(cat /var/run/docker.pid 2>/dev/null) && [[ -r "/proc/${pid}/comm" && $(cat "/proc/${pid}/comm") == dockerd ]]; then
  say "a dockerd process exists but does not answer yet; waiting up to ${WAIT_SECONDS}s..."
  within "${WAIT_SECONDS}" engine_up && { say "Docker Engine is running."; exit 0; }
  die "dockerd is running but 'docker info' still fails. Check its log (${LOG} if this script started it) or restart it."
fi

# docker.io brings dockerd, containerd, runc, iptables and the docker CLI.
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "installing docker.io with apt-get..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "'apt-get update' failed; install docker.io yourself ('apt-get install -y docker.io')."
  apt-get install -y -qq docker.io >/dev/null || die "'apt-get install -y docker.io' failed; install Docker Engine yourself."
fi

if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  # A real systemd host: let it own the daemon.
  say "starting docker with systemctl..."
  systemctl start docker || die "'systemctl start docker' failed; see 'journalctl -u docker'."
else
  # No init system to own it (containers, sandboxes, CI VMs): start dockerd in its own session
  # so it survives this script and the shell that ran it.
  # Plain 'dockerd' with its defaults (iptables on, bridge driver, overlay2, its own containerd) was
  # checked to work here: user-defined bridge networks with a fixed subnet, static container IPs and
  # published ports. No extra flags are needed. If iptables is unusable on some other host (old kernel
  # without nf_tables), 'update-alternatives --set iptables /usr/sbin/iptables-legacy' is the usual
  # fix; '--iptables=false' would also start, but then published ports and outbound NAT break.
  say "starting dockerd in the background (log: ${LOG})..."
  setsid nohup dockerd >>"${LOG}" 2>&1 </dev/null &
fi

if within "${WAIT_SECONDS}" engine_up; then
  say "Docker Engine is running (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))."
  exit 0
fi
tail -n 20 "${LOG}" >&2 2>/dev/null || true
die "dockerd did not answer 'docker info' within ${WAIT_SECONDS}s. See ${LOG}."
