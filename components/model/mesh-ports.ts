// The ports of the service mesh, the same in every instance's network namespace and every gateway. Pure.

export const meshPorts = {
    /** A sidecar's public listener: mutual TLS from other proxies of the mesh only. */
    sidecar: 21000,
    /** A sidecar's listener for its instance's health check path, which the agent's check calls (plain HTTP). */
    exposedCheck: 21500,
    /** Where a sidecar's upstream listens on the instance's loopback. */
    upstream: 9191,
    /** Envoy's admin interface, on the loopback of its network namespace. */
    admin: 19000,
    /** A mesh gateway's listener, in its container. */
    gateway: 8443,
    /** A client agent's gRPC with TLS, where Envoy fetches its config (xDS). */
    grpcTls: 8503,
} as const;

/** The ports a meshed service's own port must not take: its sidecar listens on them in the same namespace. */
export const sidecarPorts: readonly number[] = [
    meshPorts.sidecar,
    meshPorts.exposedCheck,
    meshPorts.upstream,
    meshPorts.admin,
];
