// What a client agent loads for its demo services and mesh gateway (services.json), and the pages each
// instance serves. Pure: the model's service instances in, JSON and HTML out.
import { type MeshGatewayModel, meshGatewayService } from "../model/mesh";
import { meshPorts } from "../model/mesh-ports";
import type { ServiceInstance } from "../model/services";

/** Where an instance's HTTP check asks: through its sidecar's exposed path in the mesh, else its own port. */
function checkUrl(i: ServiceInstance): string {
    return i.sidecar
        ? `http://${i.address}:${meshPorts.exposedCheck}${i.checkPath}`
        : `http://${i.address}:${i.port}${i.checkPath}`;
}

/**
 * Envoy's outlier detection on every upstream: an instance whose call fails (a 5xx) gets no calls for 3 s, and
 * with every local instance out the resolver's failover target takes the calls. Without it, failover waits
 * for the agent's health check to fail (up to its interval, 2 s in the dev stack) and reach the proxies: a
 * window of 1.4-3.0 s in the failover demo, against ~1 s with it. All instances may be ejected
 * (Envoy's default is 10%, one of two). 3 s outlasts a failing check at the dev stack's 2 s interval, so an
 * ejected instance rarely comes back to fail again before its check has taken it out; and it is no longer,
 * since it also holds back the one endpoint of another datacenter's target, the local mesh gateway, when that
 * restarts (5 s ejections held calls to dc2 back 5.4 s after a gateway's SIGKILL, against 0.3-1.6 s without).
 */
const passiveHealthCheck = {
    interval: "1s",
    max_failures: 1,
    enforcing_consecutive_5xx: 100,
    max_ejection_percent: 100,
    base_ejection_time: "3s",
};

/**
 * In the mesh an instance listens on its loopback only, so only its sidecar reaches it: the sidecar accepts
 * mutual TLS from the mesh on its public port, and answers the agent's health check on a port that serves the
 * check's path and nothing else.
 */
function sidecarService(i: ServiceInstance): object {
    const sidecar = i.sidecar;
    if (!sidecar) {
        return {};
    }
    return {
        connect: {
            // Consul names it <instance>-sidecar-proxy (the model's proxyId), and takes no other ID.
            sidecar_service: {
                port: meshPorts.sidecar,
                proxy: {
                    local_service_address: "127.0.0.1",
                    local_service_port: i.port,
                    upstreams: sidecar.upstream
                        ? [
                              {
                                  destination_name: sidecar.upstream.service,
                                  local_bind_address: "127.0.0.1",
                                  local_bind_port: sidecar.upstream.localPort,
                                  config: { passive_health_check: passiveHealthCheck },
                              },
                          ]
                        : [],
                    expose: {
                        paths: [
                            {
                                path: i.checkPath,
                                local_path_port: i.port,
                                listener_port: meshPorts.exposedCheck,
                                protocol: "http",
                            },
                        ],
                    },
                },
            },
        },
    };
}

/**
 * A datacenter's mesh gateway. Envoy listens on every address of the gateway's container: its LAN address for
 * the datacenter's sidecars, and the address it is reached on from the other datacenters (its WAN network
 * address, or its host's published port).
 */
function gatewayDefinition(gateway: MeshGatewayModel, token: string | undefined): object {
    const lan = { address: gateway.lanAddress, port: meshPorts.gateway };
    return {
        kind: "mesh-gateway",
        id: gateway.id,
        name: meshGatewayService,
        ...lan,
        tagged_addresses: { lan, wan: gateway.wan },
        token,
        proxy: {
            config: {
                envoy_mesh_gateway_no_default_bind: true,
                envoy_mesh_gateway_bind_addresses: { all: { address: "0.0.0.0", port: meshPorts.gateway } },
            },
        },
        check: {
            id: `${gateway.id}-tcp`,
            name: `TCP ${gateway.lanAddress}:${meshPorts.gateway} on ${gateway.id}`,
            tcp: `${gateway.lanAddress}:${meshPorts.gateway}`,
            interval: "2s",
            timeout: "1s",
        },
    };
}

/**
 * The service definitions a client agent loads from its config dir (services.json): every instance of
 * the datacenter, each with its HTTP check (and its sidecar in the mesh), and its mesh gateway. `tokens`
 * maps a service name to the token that may register it, so the file is a secret.
 */
export function serviceDefinitions(
    instances: readonly ServiceInstance[],
    tokens: Record<string, string>,
    gateway?: MeshGatewayModel,
): object {
    return {
        services: [
            ...instances.map((i) => ({
                id: i.id,
                name: i.service,
                address: i.address,
                port: i.port,
                tags: i.tags,
                meta: { instance: i.id },
                token: tokens[i.service],
                check: {
                    id: `${i.id}-http`,
                    name: `HTTP ${i.checkPath} on ${i.id}`,
                    http: checkUrl(i),
                    interval: `${i.checkIntervalSeconds}s`,
                    timeout: "2s",
                },
                ...sidecarService(i),
            })),
            ...(gateway ? [gatewayDefinition(gateway, tokens[meshGatewayService])] : []),
        ],
    };
}

/**
 * An instance with an upstream answers "/" by calling it through its sidecar (a busybox httpd CGI script): the
 * upstream's own answer, renamed from "service" to "upstream" and with the caller's instance added, or a 502
 * that says the mesh gave no answer.
 */
function upstreamScript(i: ServiceInstance, upstream: { service: string; localPort: number }): string {
    return [
        "#!/bin/sh",
        `# ${i.id} calls ${upstream.service} only through its sidecar's upstream on the loopback.`,
        // No -T: busybox 1.35's static wget crashes with it; Envoy's own timeouts bound the call.
        `if body=$(wget -q -O - http://127.0.0.1:${upstream.localPort}/ 2>/dev/null); then`,
        '  printf "Content-Type: application/json\\r\\n\\r\\n"',
        `  printf '%s\\n' "$body" | sed 's/^{"service":/{"caller":"${i.id}","upstream":/'`,
        "else",
        '  printf "Status: 502 Bad Gateway\\r\\nContent-Type: application/json\\r\\n\\r\\n"',
        `  printf '{"caller":"${i.id}","upstream":"${upstream.service}","error":"no answer through the mesh"}\\n'`,
        "fi",
        "",
    ].join("\n");
}

/** What an instance serves: a page that names it (or its upstream's answer), and its health check path. */
export function instancePages(i: ServiceInstance): { path: string; content: string; executable?: boolean }[] {
    const page = `${JSON.stringify({ service: i.service, instance: i.id, datacenter: i.datacenter })}\n`;
    const upstream = i.sidecar?.upstream;
    return [
        upstream
            ? { path: "/cgi-bin/index.cgi", content: upstreamScript(i, upstream), executable: true }
            : { path: "/index.html", content: page },
        { path: i.checkPath === "/" ? "/index.html" : i.checkPath, content: "ok\n" },
    ].filter((p, idx, all) => all.findIndex((q) => q.path === p.path) === idx);
}
