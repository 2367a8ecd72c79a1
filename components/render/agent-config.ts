// The per-agent Consul config, produced from the topology model by pure functions. The commented base
// files in consul-config/ hold everything that is the same for every agent of a role.
import type { AgentModel, DatacenterModel } from "../model/stack-model";

/** The fields this project writes into each agent's generated agent.json. */
export interface AgentConfig {
    node_name: string;
    datacenter: string;
    primary_datacenter: string;
    advertise_addr: string;
    advertise_addr_wan?: string;
    bootstrap_expect?: number;
    retry_join?: string[];
    retry_join_wan?: string[];
    acl?: { enable_token_replication: boolean };
    ports?: { server: number; serf_wan: number };
}

/** Where the agent reads its config (`-config-dir`). */
export const configDir = "/consul/config";

/** Where the base files expect the CA and the agent's certificate (server.pem or client.pem). */
export const tlsDir = "/consul/tls";

/** Config for one agent of the datacenter. */
export function agentConfig(dc: DatacenterModel, agent: AgentModel): AgentConfig {
    const common = {
        node_name: agent.name,
        datacenter: dc.name,
        primary_datacenter: dc.primaryDatacenter,
        advertise_addr: agent.lanAddress,
    };
    if (agent.role === "client") {
        return { ...common, retry_join: dc.servers.map((s) => s.lanAddress) };
    }
    const peers = dc.servers.filter((s) => s.name !== agent.name).map((s) => s.lanAddress);
    return {
        ...common,
        advertise_addr_wan: agent.wanAddress,
        bootstrap_expect: dc.servers.length,
        ...(peers.length > 0 ? { retry_join: peers } : {}),
        ...(dc.wanJoin.length > 0 ? { retry_join_wan: [...dc.wanJoin] } : {}),
        // Across Docker hosts a remote datacenter dials the port a server gossips, which is the port it
        // binds: so each server on a host binds the ports it publishes there.
        ...(agent.hostPorts ? { ports: { server: agent.hostPorts.server, serf_wan: agent.hostPorts.serfWan } } : {}),
        // Secondary servers copy the primary's ACL policies and tokens, so tokens work in every DC.
        ...(dc.name !== dc.primaryDatacenter ? { acl: { enable_token_replication: true } } : {}),
    };
}

/** Kept out of agent.json so that only this file's content has to be a secret. */
export function gossipConfig(gossipKey: string): { encrypt: string } {
    return { encrypt: gossipKey };
}

export function renderJson(config: object): string {
    return `${JSON.stringify(config, null, 2)}\n`;
}
