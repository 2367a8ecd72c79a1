# Settings every agent shares, servers and clients alike.
# Consul reads every file in its config dir (-config-dir=/consul/config) and merges them, so this file
# is joined by server.hcl or client.hcl and by agent.json, which the program writes for each agent
# (node name, datacenter, addresses, whom to join). Secrets sit apart: the gossip key in gossip.json,
# the agent's ACL tokens in acl-tokens.json. Certificates live in /consul/tls.

# Raft data, the node ID and the gossip keyring live here, on a Docker volume of their own, so they
# survive a container replacement.
data_dir = "/consul/data"

# Listen on every interface of the container. Each agent's own advertise_addr (in agent.json) tells the
# others which address to use, which matters because servers sit on two networks.
bind_addr = "0.0.0.0"

# The HTTPS API, UI and DNS answer on every interface of the container; Docker publishes them to the
# host on 127.0.0.1 only, unless the stack's publishAddress says otherwise. Plain HTTP answers on the
# container's loopback only, for the healthcheck and for `consul` commands run inside the container.
client_addr = "0.0.0.0"
addresses {
  http = "127.0.0.1"
}
ports {
  http  = 8500
  https = 8501
}

# Access control lists: a request without a token that allows it is denied.
acl {
  enabled        = true
  default_policy = "deny"
  # While the servers cannot be reached, keep using the tokens' cached permissions.
  down_policy    = "extend-cache"
  # Tokens set later with `consul acl set-agent-token` survive a restart.
  enable_token_persistence = true
}

# TLS: every agent trusts the stack's CA and checks that a server's certificate really says
# server.<datacenter>.consul, so nothing can pose as a server.
tls {
  defaults {
    ca_file         = "/consul/tls/ca.pem"
    verify_outgoing = true
  }
  internal_rpc {
    verify_server_hostname = true
  }
}

# Connect, Consul's service mesh, is off: nothing here runs a sidecar proxy, and its certificate
# authority lives in the replicated state. A snapshot restore replaces that CA, and a secondary
# datacenter then asks the primary to sign a new intermediate; Consul keeps the new key even when the
# primary refuses (as it does while the restored ACLs lack the replication token), and the datacenter
# is left signing with a key that does not match its certificate ("x509: provided PrivateKey doesn't
# match parent's PublicKey"). With Connect off there is no such CA to break.
connect {
  enabled = false
}

# The web UI (served under /ui/).
ui_config {
  enabled = true
}

# Retry a failed LAN join every few seconds, not the default 30 s, so a cluster forms quickly.
retry_interval = "2s"

# Only encrypted gossip is sent and accepted: an agent without the key cannot join.
encrypt_verify_incoming = true
encrypt_verify_outgoing = true

log_level = "INFO"

# No phoning home for update checks.
disable_update_check = true
