# Settings for server agents: they hold the Raft log, elect a leader and answer RPCs.

server = true

# A stopped server stays a Raft member, so a restart does not shrink the quorum.
leave_on_terminate = false

# Secondary datacenters retry their WAN join every few seconds, not the default 30 s.
retry_interval_wan = "2s"

# Elections and heartbeats at full speed (the default, 5, is tuned for slow cloud machines).
performance {
  raft_multiplier = 1
}
