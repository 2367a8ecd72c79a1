# Settings for client agents: applications talk to their local client agent, which forwards to the
# servers of its datacenter. Clients hold no Raft data.

server = false

# A stopped client leaves the cluster gracefully instead of showing as failed.
leave_on_terminate = true

# The client presents a certificate for client.<datacenter>.consul, signed by the stack's CA (the stack
# output caCertPem): to the servers for RPC, and on the HTTPS API and UI, which Docker publishes to the
# host (the certificate also names 127.0.0.1 and localhost, so a browser or curl can trust it).
# It does not ask the servers for an RPC certificate (auto_encrypt): those are signed by Consul's own
# Connect CA, which a snapshot restore replaces, and the servers would then refuse this client.
tls {
  defaults {
    cert_file = "/consul/tls/client.pem"
    key_file  = "/consul/tls/client-key.pem"
  }
}
