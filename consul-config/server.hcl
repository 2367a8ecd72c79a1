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

# Servers present the certificate the stack issued for server.<datacenter>.consul, and accept RPC only
# from agents that present a certificate signed by the stack's CA. They hand out no certificates
# themselves (auto_encrypt is off): trust rests on the stack's CA alone, which no snapshot restore changes.
tls {
  defaults {
    cert_file       = "/consul/tls/server.pem"
    key_file        = "/consul/tls/server-key.pem"
    verify_incoming = true
  }
  # Browsers and the consul CLI present no client certificate; the HTTPS API relies on ACL tokens.
  https {
    verify_incoming = false
  }
}
