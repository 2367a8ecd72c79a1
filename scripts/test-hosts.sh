#!/usr/bin/env bash
# Two extra Docker hosts on this one machine for the cluster tests, as if they were separate machines:
# b (192.168.77.2) and c (192.168.77.3), each a dockerd in its own network namespace, reached over TLS at
# tcp://ADDR:2376. The root namespace is the "local" host: 192.168.77.1 on the bridge cmdc-hosts, where
# the other hosts reach the ports that root-engine containers publish on that address.
#
# Usage: scripts/test-hosts.sh up | down | env | status | link NAME down|up | restart NAME
#   up            create whatever is missing (idempotent), copy the stack's images in, wait for TLS answers
#   env           JSON for the tests: {"local":{"address"},"hosts":[{"name","address","dockerHost","certPath","socket"}]}
#   status        say whether each host is up (exit 1 if one is not)
#   link NAME …   take NAME's link down or up: a network cut, as seen from every other host
#   restart NAME  stop NAME's dockerd gracefully and start it again; restart policies bring containers back
#   down          remove everything up made, containers and data included (idempotent)
# Needs root, iproute2, iptables, openssl, util-linux and docker.io.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "${SCRIPT_DIR}")
BRIDGE=cmdc-hosts
LOCAL_ADDR=192.168.77.1
HOSTS=(b c)
declare -A ADDR=([b]=192.168.77.2 [c]=192.168.77.3)
PORT=2376
STATE=/var/lib/cmdc-hosts   # data roots, certificates
RUN=/run/cmdc-hosts         # sockets, pidfiles, exec roots
CERTS=${STATE}/certs
CLIENT_CERTS=${CERTS}/client
WAIT_SECONDS=60
declare -A STARTED=()        # host -> pid of the dockerd this run started
FORWARD_RULE=(FORWARD -i "${BRIDGE}" -o "${BRIDGE}" -j ACCEPT)

LIB_NAME=test-hosts
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 up|down|env|status|link NAME down|up|restart NAME (NAME: ${HOSTS[*]})"; }
host_arg() { [[ -n "${ADDR[${1:-}]:-}" ]] || usage; }

ns() { echo "cmdc-$1"; }
veth() { echo "cmdc-$1-br"; }
sock() { echo "unix://${RUN}/$1/docker.sock"; }
log_of() { echo "/var/log/cmdc-hosts-$1.log"; }
# A host's own socket, whatever DOCKER_* TLS settings the caller exported (for a tcp:// host, say).
on() { local h=$1; shift; env -u DOCKER_TLS_VERIFY -u DOCKER_TLS -u DOCKER_CERT_PATH docker -H "$(sock "${h}")" "$@"; }
sock_ok() { on "$1" version >/dev/null 2>&1; }
tls_ok() { DOCKER_CERT_PATH=${CLIENT_CERTS} docker --tlsverify -H "tcp://${ADDR[$1]}:${PORT}" info >/dev/null 2>&1; }
link_up() { ip link show "$(veth "$1")" 2>/dev/null | grep -q '[<,]UP[,>]'; }
# A zombie is gone too: PID 1 here takes a second or so to reap the daemons we leave behind.
alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
gone() { ! alive "$1"; }
daemon_pid() {
  local pid
  pid=$(cat "${RUN}/$1/docker.pid" 2>/dev/null) && alive "${pid}" && [[ $(cat "/proc/${pid}/comm") == dockerd ]] &&
    echo "${pid}"
}

need_tools() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, a bridge, iptables, dockerd)."
  local t
  # A fresh Debian may lack the tools that are not Docker's: install them as ensure-docker.sh does Docker.
  if { ! command -v ip || ! command -v openssl; } >/dev/null 2>&1 && can_apt_get; then
    apt_install iproute2 openssl || die "'apt-get install -y iproute2 openssl' failed; install them yourself."
  fi
  for t in ip iptables openssl nsenter setsid findmnt flock dockerd docker; do
    command -v "${t}" >/dev/null 2>&1 ||
      die "'${t}' is missing; install it (Debian: apt-get install -y iproute2 iptables openssl util-linux docker.io)."
  done
}

# Two runs at once (e.g. two suites' prereqs) must not build the same links and daemons twice. The daemons
# must not inherit fd 9 (start_daemon closes it): they, and every shim and proxy under them, would hold the lock.
lock() { mkdir -p /run/lock && exec 9>/run/lock/cmdc-hosts.lock && flock 9; }

# The stack's images, found as ensure-consul-image.sh and ensure-demo-image.sh find them: the dev stack's
# value if it sets one, else Pulumi.yaml's default.
config_value() {
  local v
  v=$(sed -n "s/^[[:space:]]*consul-multi-dc:$1:[[:space:]]*//p" "${REPO_DIR}/Pulumi.dev.yaml" 2>/dev/null | head -n1 |
    sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e "s/^[\"']//" -e "s/[\"']\$//")
  [[ -n "${v}" ]] || v=$(cd "${REPO_DIR}" &&
    node -p "require('yaml').parse(require('fs').readFileSync('Pulumi.yaml','utf8')).config['$1'].default" 2>/dev/null) || true
  [[ -n "${v}" && "${v}" != undefined ]] || die "no consul-multi-dc:$1 in Pulumi.dev.yaml nor a default in Pulumi.yaml (run npm ci first)."
  echo "${v}"
}

# EC P-256 certificates from one CA: a server certificate per host for its address, one client certificate.
# Kept across runs; a new CA means new leaves.
make_certs() {
  local h
  if [[ ! -s "${CERTS}/ca/ca.pem" ]]; then
    rm -rf "${CERTS}"
    mkdir -p "${CERTS}/ca"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${CERTS}/ca/ca-key.pem")
    openssl req -x509 -new -key "${CERTS}/ca/ca-key.pem" -sha256 -days 3650 -subj "/CN=cmdc-hosts test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "${CERTS}/ca/ca.pem"
  fi
  for h in "${HOSTS[@]}"; do
    leaf "${CERTS}/${h}" "cmdc-${h}" "subjectAltName=IP:${ADDR[${h}]},IP:127.0.0.1" serverAuth
  done
  leaf "${CLIENT_CERTS}" cmdc-hosts-client "" clientAuth
}

# leaf DIR CN EXTRA USAGE: DIR/key.pem, DIR/cert.pem and DIR/ca.pem, the layout docker's --tlsverify reads.
leaf() {
  local dir=$1
  [[ -s "${dir}/cert.pem" ]] && return 0
  mkdir -p "${dir}"
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${dir}/key.pem")
  openssl req -new -key "${dir}/key.pem" -subj "/CN=$2" |
    openssl x509 -req -CA "${CERTS}/ca/ca.pem" -CAkey "${CERTS}/ca/ca-key.pem" -set_serial "0x$(openssl rand -hex 16)" \
      -days 3650 -sha256 -out "${dir}/cert.pem.tmp" 2>/dev/null \
      -extfile <(printf '%s\n' "${3}" "keyUsage=critical,digitalSignature" "extendedKeyUsage=$4")
  cp "${CERTS}/ca/ca.pem" "${dir}/ca.pem"
  mv "${dir}/cert.pem.tmp" "${dir}/cert.pem"
}

net_up() {
  local h=$1 n
  n=$(ns "${h}")
  [[ -e "/run/netns/${n}" ]] || ip netns add "${n}"
  ip link show "$(veth "${h}")" >/dev/null 2>&1 || ip link add "$(veth "${h}")" type veth peer name eth0 netns "${n}"
  ip link set "$(veth "${h}")" master "${BRIDGE}" up
  ip -n "${n}" link set lo up
  ip -n "${n}" addr replace "${ADDR[${h}]}/24" dev eth0
  ip -n "${n}" link set eth0 up
  ip -n "${n}" route replace default via "${LOCAL_ADDR}"
}

start_daemon() {
  local h=$1 pid ctr_pidfile="${RUN}/$1/exec/containerd/containerd.pid"
  mkdir -p "${RUN}/${h}" "${STATE}/${h}"
  # No dockerd of ours runs, but a killed one leaves pidfiles (its own, its containerd's), and dockerd trusts
  # any pid still in /proc: here a dead daemon stays a zombie for a second or so.
  rm -f "${RUN}/${h}/docker.pid"
  pid=$(cat "${ctr_pidfile}" 2>/dev/null) || true
  alive "${pid:-0}" || rm -f "${ctr_pidfile}"
  # Its own config file: /etc/docker/daemon.json is the root engine's (a data-root or hosts there would clash).
  [[ -s "${STATE}/daemon.json" ]] || echo '{}' >"${STATE}/daemon.json"
  # nsenter, not `ip netns exec`: that also makes a mount namespace with its own /sys, and dockerd then fails
  # with "Devices cgroup isn't mounted". setsid: the daemon outlives this script. The containerd namespaces
  # keep the engines apart should they ever share a system containerd (today each starts its own).
  setsid nohup nsenter --net="/run/netns/$(ns "${h}")" dockerd \
    --config-file "${STATE}/daemon.json" --data-root "${STATE}/${h}" --exec-root "${RUN}/${h}/exec" \
    --pidfile "${RUN}/${h}/docker.pid" --containerd-namespace "cmdc-${h}" --containerd-plugins-namespace "cmdc-${h}-plugins" \
    -H "$(sock "${h}")" -H "tcp://${ADDR[${h}]}:${PORT}" --tlsverify --tlscacert "${CERTS}/${h}/ca.pem" \
    --tlscert "${CERTS}/${h}/cert.pem" --tlskey "${CERTS}/${h}/key.pem" >>"$(log_of "${h}")" 2>&1 </dev/null 9>&- &
  STARTED[${h}]=$!
}

# A daemon this run started and that has exited already will not answer: no use waiting for it.
answers_or_died() { sock_ok "$1" || { [[ -n "${STARTED[$1]:-}" ]] && ! alive "${STARTED[$1]}"; }; }

# The socket first; TLS too unless the link is down on purpose (restart during a network cut).
wait_answer() {
  local h=$1
  within "${WAIT_SECONDS}" answers_or_died "${h}" && sock_ok "${h}" &&
    { ! link_up "${h}" || within "${WAIT_SECONDS}" tls_ok "${h}"; } && return 0
  tail -n 20 "$(log_of "${h}")" >&2 || true
  die "host ${h}'s dockerd did not answer (waited up to ${WAIT_SECONDS}s); see $(log_of "${h}")."
}

stop_daemon() {
  local h=$1 pid
  pid=$(daemon_pid "${h}") || return 0
  kill -TERM "${pid}"
  # dockerd stops its containers first (up to 10 s each, in parallel), then its containerd.
  within "${WAIT_SECONDS}" gone "${pid}" && return 0
  say "host ${h}'s dockerd (pid ${pid}) did not stop within ${WAIT_SECONDS}s; killing it."
  kill -KILL "${pid}" 2>/dev/null || true
}

copy_images() {
  local h=$1 img want=()
  for img in "${IMAGES[@]}"; do
    [[ "$(docker image inspect -f '{{.Id}}' "${img}")" == "$(on "${h}" image inspect -f '{{.Id}}' "${img}" 2>/dev/null)" ]] ||
      want+=("${img}")
  done
  ((${#want[@]})) || return 0
  say "loading ${want[*]} into host ${h}..."
  docker save "${want[@]}" | on "${h}" load -q >/dev/null
}

cmd_up() {
  docker info >/dev/null 2>&1 || die "the root Docker Engine does not answer 'docker info'; run scripts/ensure-docker.sh first."
  local consul demo envoy h pid pids=()
  consul=$(config_value image)
  demo=$(config_value demoImage)
  envoy=$(config_value envoyImage)
  IMAGES=("${consul}" "${demo}" "${envoy}")
  for h in "${IMAGES[@]}"; do
    docker image inspect "${h}" >/dev/null 2>&1 || die "${h} is not in the root Docker Engine; run 'npm run prereqs' first."
  done
  make_certs
  ip link show "${BRIDGE}" >/dev/null 2>&1 || ip link add "${BRIDGE}" type bridge
  ip addr replace "${LOCAL_ADDR}/24" dev "${BRIDGE}"
  ip link set "${BRIDGE}" up
  # The root engine sets FORWARD's policy to DROP; with br_netfilter, frames between two ports of our bridge
  # pass FORWARD too.
  iptables -C "${FORWARD_RULE[@]}" 2>/dev/null || iptables -I "${FORWARD_RULE[@]}"
  for h in "${HOSTS[@]}"; do
    net_up "${h}"
    daemon_pid "${h}" >/dev/null || { say "starting host ${h}'s dockerd (log: $(log_of "${h}"))..."; start_daemon "${h}"; }
  done
  for h in "${HOSTS[@]}"; do wait_answer "${h}"; done
  # In parallel: a cold start spends most of its time here.
  for h in "${HOSTS[@]}"; do copy_images "${h}" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "${pid}" || die "could not load the images into a test host (see above)."; done
  say "local host ${LOCAL_ADDR} (bridge ${BRIDGE}); the test hosts answer over TLS:"
  for h in "${HOSTS[@]}"; do
    say "  ${h}  ${ADDR[${h}]}  DOCKER_HOST=tcp://${ADDR[${h}]}:${PORT} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${CLIENT_CERTS}"
  done
}

cmd_env() {
  local h sep=""
  for h in "${HOSTS[@]}"; do
    sock_ok "${h}" || die "test host ${h} is not up; run scripts/test-hosts.sh up (as root)."
  done
  printf '{"local":{"address":"%s"},"hosts":[' "${LOCAL_ADDR}"
  for h in "${HOSTS[@]}"; do
    printf '%s{"name":"%s","address":"%s","dockerHost":"tcp://%s:%s","certPath":"%s","socket":"%s"}' \
      "${sep}" "${h}" "${ADDR[${h}]}" "${ADDR[${h}]}" "${PORT}" "${CLIENT_CERTS}" "$(sock "${h}")"
    sep=,
  done
  printf ']}\n'
}

cmd_status() {
  local h rc=0
  for h in "${HOSTS[@]}"; do
    if sock_ok "${h}"; then
      say "${h}: up (${ADDR[${h}]}, dockerd pid $(daemon_pid "${h}"), link $(link_up "${h}" && echo up || echo DOWN))"
    else
      say "${h}: down"
      rc=1
    fi
  done
  return "${rc}"
}

cmd_down() {
  local h pid ids m
  for h in "${HOSTS[@]}"; do
    if sock_ok "${h}"; then
      ids=$(on "${h}" ps -aq)
      # shellcheck disable=SC2086  # one id per word
      [[ -z "${ids}" ]] || on "${h}" rm -f -v ${ids} >/dev/null
    fi
    stop_daemon "${h}"
    # Nothing of ours may outlive the namespace (a containerd left by a killed dockerd, say).
    if [[ -e "/run/netns/$(ns "${h}")" ]]; then
      for pid in $(ip netns pids "$(ns "${h}")"); do kill -KILL "${pid}" 2>/dev/null || true; done
      ip netns delete "$(ns "${h}")"
    fi
    # dockerd leaves mounts in the root mount namespace (overlay2's private bind, containers' shm, netns files).
    for m in $(findmnt -rn -o TARGET | awk -v d="${STATE}/${h}" -v r="${RUN}/${h}" 'index($0, d) == 1 || index($0, r) == 1' | sort -r); do
      umount "${m}" 2>/dev/null || umount -l "${m}"
    done
    ! ip link show "$(veth "${h}")" >/dev/null 2>&1 || ip link delete "$(veth "${h}")"
  done
  ! ip link show "${BRIDGE}" >/dev/null 2>&1 || ip link delete "${BRIDGE}"
  while iptables -C "${FORWARD_RULE[@]}" 2>/dev/null; do iptables -D "${FORWARD_RULE[@]}"; done
  # `ip netns add` made /run/netns a mount point; undo that once no namespace is left in it.
  if mountpoint -q /run/netns && [[ -z "$(ls -A /run/netns)" ]]; then umount /run/netns && rmdir /run/netns; fi
  rm -rf --one-file-system "${STATE}" "${RUN}"
  say "removed the test hosts (logs kept: $(log_of '*'))."
}

need_tools
case "${1:-}" in
  up) lock; cmd_up ;;
  env) cmd_env ;;
  status) cmd_status ;;
  down) lock; cmd_down ;;
  link)
    host_arg "${2:-}"
    [[ "${3:-}" == up || "${3:-}" == down ]] || usage
    ip link set "$(veth "$2")" "$3" || die "host $2 has no link; run scripts/test-hosts.sh up."
    say "host $2's link is $3."
    ;;
  restart)
    host_arg "${2:-}"
    lock
    [[ -e "/run/netns/$(ns "$2")" && -s "${CERTS}/$2/cert.pem" ]] || die "host $2 is not set up; run scripts/test-hosts.sh up."
    stop_daemon "$2"
    start_daemon "$2"
    wait_answer "$2"
    say "host $2's dockerd restarted (pid $(daemon_pid "$2"))."
    ;;
  *) usage ;;
esac
