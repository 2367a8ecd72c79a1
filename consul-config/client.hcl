# Settings for client agents: applications talk to their local client agent, which forwards to the
# servers of its datacenter. Clients hold no Raft data.

server = false

# A stopped client leaves the cluster gracefully instead of showing as failed.
leave_on_terminate = true
