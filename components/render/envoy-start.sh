# The start script of every Envoy container, sidecar or mesh gateway, run by `sh -c` as PID 1 in the Envoy
# image (scripts/ensure-envoy-image.sh). Its environment (components/render/mesh.ts) names the proxy
# (PROXY_ID), the client agent that registered it (CONSUL_HTTP_ADDR, CONSUL_GRPC_ADDR, with the stack's CA and
# the agent's certificate name) and the file holding its token.
set -u
bootstrap=/tmp/envoy-bootstrap.json

# `consul connect envoy -bootstrap` asks the agent for the proxy's registration and writes Envoy's bootstrap
# config. The agent may not know the proxy yet (it starts with this container, or its token is being made),
# so ask again each second; the last answer stays in /tmp/bootstrap.log for `docker exec`.
# -ignore-envoy-compatibility: Consul 1.22.7 lists Envoy 1.33-1.35 as supported, and this image's Envoy is
# newer (the README says why, and what the tests prove about the pair).
until consul connect envoy -proxy-id "$PROXY_ID" -admin-bind "127.0.0.1:$ADMIN_PORT" \
    -ignore-envoy-compatibility -bootstrap >"$bootstrap" 2>/tmp/bootstrap.log; do
  sleep 1
done

# One worker thread: a lab runs many proxies on few cores. exec: Envoy gets Docker's SIGTERM itself.
exec envoy -c "$bootstrap" --concurrency 1 --log-level warn
