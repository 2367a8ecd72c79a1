# Settings for client agents: applications talk to their local client agent, which forwards to the
# servers of its datacenter. Clients hold no Raft data.

server = false

# A stopped client leaves the cluster gracefully instead of showing as failed.
leave_on_terminate = true

# The client asks the servers for its RPC certificate at start (auto_encrypt), so it holds no
# private key for RPC.
auto_encrypt {
  tls = true
}

# The HTTPS API and UI, which Docker publishes to the host, present a certificate for 127.0.0.1 and
# localhost signed by the stack's CA (the stack output caCertPem), so a browser or curl can trust it.
tls {
  https {
    cert_file = "/consul/tls/https.pem"
    key_file  = "/consul/tls/https-key.pem"
  }
}
