# Settings every agent shares, servers and clients alike.
# Consul reads every file in its config dir (-config-dir=/consul/config) and merges them, so this file
# is joined by server.hcl or client.hcl and by agent.json, which the program writes for each agent
# (node name, datacenter, addresses, whom to join). The gossip key sits apart in gossip.json.

# Raft data, the node ID and the gossip keyring live here, on a Docker volume of their own, so they
# survive a container replacement.
data_dir = "/consul/data"

# Listen on every interface of the container. Each agent's own advertise_addr (in agent.json) tells the
# others which address to use, which matters because servers sit on two networks.
bind_addr = "0.0.0.0"

# The HTTP API, UI and DNS answer on every interface of the container. Docker publishes them to the
# host on 127.0.0.1 only, unless the stack's publishAddress says otherwise.
client_addr = "0.0.0.0"

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
