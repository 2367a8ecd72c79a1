// The Docker container of one agent, from the topology model: agent-config.ts says what Consul runs
// with, this says how Docker runs it.
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { AgentModel } from "../model/stack-model";
import { fileBundlePath, fileBundleScript } from "../render/file-bundle";
import { shellHealthcheck } from "../render/healthcheck";
import { type AgentFile, agentStartScript } from "./agent-files";

// The healthcheck uses only what the image ships (busybox wget): healthy once the agent knows its
// datacenter's Raft leader (its address and RPC port), which is when it can serve reads and writes. For a
// server that has been replaced, that also means it is following the leader again as a voter.
function leaderHealthcheck(rpcPorts: readonly number[]) {
    const leaderKnown = rpcPorts.length === 1 ? `grep -q ':${rpcPorts[0]}'` : `grep -qE ':(${rpcPorts.join("|")})'`;
    return shellHealthcheck(`wget -q -O - http://127.0.0.1:8500/v1/status/leader | ${leaderKnown}`, {
        interval: 2,
        timeout: 2,
        startPeriod: 60,
        retries: 5,
    });
}

/**
 * How long Docker waits after SIGTERM before it kills the agent. In that time the start script hands
 * over Raft leadership (servers) or leaves the cluster (clients), which takes well under a second; the
 * provider's default, no grace at all, would SIGKILL the agent.
 */
export const stopGraceSeconds = 30;

/** How long `pulumi up` waits for an agent, or a whole datacenter, to turn healthy (agents-healthy.ts). */
export const agentHealthySeconds = 180;

export interface AgentContainerInputs {
    readonly image: pulumi.Input<string>;
    readonly labels: { label: string; value: pulumi.Input<string> }[];
    readonly lanNetwork: pulumi.Input<string>;
    /** Servers only: the network that federates datacenters. */
    readonly wanNetwork?: pulumi.Input<string>;
    /** The named volume that holds /consul/data. */
    readonly dataVolume: pulumi.Input<string>;
    readonly files: AgentFile[];
    /** Published to the host: the HTTPS API and UI (8501 inside), and DNS on tcp and udp (8600 inside). */
    readonly publish?: {
        readonly http: pulumi.Input<number>;
        readonly dns: pulumi.Input<number>;
        readonly hostIp: pulumi.Input<string>;
    };
    /** The server RPC ports of the datacenter, one of which the leader's address names. */
    readonly serverRpcPorts: readonly number[];
}

export function agentContainerArgs(agent: AgentModel, inputs: AgentContainerInputs): docker.ContainerArgs {
    const networks = [{ name: inputs.lanNetwork, ipv4Address: agent.lanAddress, aliases: [agent.name] }];
    if (agent.wanAddress && inputs.wanNetwork) {
        networks.push({ name: inputs.wanNetwork, ipv4Address: agent.wanAddress, aliases: [agent.name] });
    }
    const p = inputs.publish;
    const h = agent.hostPorts;
    return {
        name: agent.name,
        hostname: agent.name,
        image: inputs.image,
        // Explicit, so behaviour does not depend on the image's entrypoint script: agent-start.sh checks the
        // gossip keyring, waits on a first start for what the agent needs, and runs `consul agent`.
        entrypoints: ["/bin/sh", "-c"],
        command: [agentStartScript(agent)],
        user: "consul",
        // The start script writes it into a new data dir (node-id.ts says why).
        envs: [`CONSUL_NODE_ID=${agent.nodeId}`],
        restart: "unless-stopped",
        labels: inputs.labels,
        networksAdvanced: networks,
        // Raft data, node ID and keyring outlive a container replacement on their own volume.
        volumes: [{ volumeName: inputs.dataVolume, containerPath: "/consul/data" }],
        // One upload, not one per file (file-bundle.ts says why); the start script writes the files from it.
        uploads: [
            {
                file: fileBundlePath,
                content: pulumi.secret(
                    pulumi
                        .all(inputs.files.map((f) => f.content))
                        .apply((contents) =>
                            fileBundleScript(inputs.files.map((f, i) => ({ file: f.file, content: contents[i] }))),
                        ),
                ),
            },
        ],
        ports: [
            ...(p
                ? [
                      { internal: 8501, external: p.http, ip: p.hostIp, protocol: "tcp" },
                      { internal: 8600, external: p.dns, ip: p.hostIp, protocol: "tcp" },
                      { internal: 8600, external: p.dns, ip: p.hostIp, protocol: "udp" },
                  ]
                : []),
            // Across hosts, other datacenters reach this server on its host's address (its WAN address): RPC and WAN
            // Serf on the ports it binds; a primary's HTTPS for new secondaries, and its gRPC TLS for peers.
            ...(h && agent.wanAddress
                ? [
                      { internal: h.server, external: h.server, ip: agent.wanAddress, protocol: "tcp" },
                      { internal: h.serfWan, external: h.serfWan, ip: agent.wanAddress, protocol: "tcp" },
                      { internal: h.serfWan, external: h.serfWan, ip: agent.wanAddress, protocol: "udp" },
                      ...(h.api ? [{ internal: 8501, external: h.api, ip: agent.wanAddress, protocol: "tcp" }] : []),
                      ...(h.grpcTls
                          ? [{ internal: 8503, external: h.grpcTls, ip: agent.wanAddress, protocol: "tcp" }]
                          : []),
                  ]
                : []),
        ],
        healthcheck: leaderHealthcheck(inputs.serverRpcPorts),
        destroyGraceSeconds: stopGraceSeconds,
    };
}
