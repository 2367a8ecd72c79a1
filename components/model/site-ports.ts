// Which host ports each datacenter opens to the other sites: what an operator writes firewall rules from
// (the stack output `sitePorts`). Pure, from the model: the ports its servers and mesh gateway publish on its
// host's address. On one Docker host the datacenters meet on Docker's own networks and open none.
import type { StackModel } from "./stack-model";

/** A port and its protocol as a firewall rule names them, e.g. "8443/tcp". */
export type SitePort = `${number}/${"tcp" | "udp"}`;

/** By datacenter, the "PORT/PROTO" its host must let the other sites reach, in port order. */
export function sitePorts(model: StackModel): Record<string, SitePort[]> {
    return Object.fromEntries(
        model.datacenters.map((dc) => {
            const ports: SitePort[] = [
                ...dc.servers.flatMap((s): SitePort[] => {
                    const h = s.hostPorts;
                    if (!h || !s.wanAddress) return [];
                    return [
                        `${h.server}/tcp`,
                        `${h.serfWan}/tcp`,
                        `${h.serfWan}/udp`,
                        ...(h.api ? [`${h.api}/tcp` as const] : []),
                        ...(h.grpcTls ? [`${h.grpcTls}/tcp` as const] : []),
                    ];
                }),
                ...(dc.meshGateway?.hostPort !== undefined ? [`${dc.meshGateway.hostPort}/tcp` as const] : []),
            ];
            const order = (p: SitePort) => Number.parseInt(p, 10) * 2 + (p.endsWith("/udp") ? 1 : 0);
            return [dc.name, [...ports].sort((a, b) => order(a) - order(b))];
        }),
    );
}
