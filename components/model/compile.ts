// Stack config → the model of the whole federation, in one pure step (as rboyer/devconsul's
// CompileTopology does): parse.ts turns the config into typed values or lists every problem of every key
// at once; this lays out, from the typed values, the StackModel that everything later reads.
import { hostAddress, type Ipv4Cidr } from "./cidr";
import { gatewayHostPortsInOrder, type ServerHostPorts, serverHostPortsInOrder } from "./docker-hosts";
import { lanAddress, serverOffset, wanOffset } from "./lan-layout";
import { gatewayLanAddress, gatewayWanAddress, type MeshGatewayModel } from "./mesh";
import { meshPorts } from "./mesh-ports";
import {
    aclInitContainerName,
    agentName,
    dataVolumeName,
    lanNetworkName,
    meshGatewayName,
    wanNetworkName,
} from "./names";
import { nodeId } from "./node-id";
import { type DatacenterConfig, datacenterWarnings, parseStack, type StackConfig } from "./parse";
import { serviceInstances } from "./services";
import { ConfigProblems, type StackSettings } from "./settings";
import type { AgentModel, AgentRole, DatacenterModel, StackModel } from "./stack-model";

/**
 * Where a datacenter's servers are reached from other datacenters: each its WAN address, and its host ports across
 * hosts.
 */
type ServerWan = { readonly address: string; readonly hostPorts?: ServerHostPorts };

/** The agents of one datacenter: fixed names, node IDs and addresses. */
function agents(dc: DatacenterConfig, namePrefix: string, role: AgentRole, wan: readonly ServerWan[]): AgentModel[] {
    return Array.from({ length: role === "server" ? dc.servers : dc.clients }, (_, i) => {
        const name = agentName(namePrefix, dc.name, role, i + 1);
        return {
            name,
            datacenter: dc.name,
            role,
            ordinal: i + 1,
            nodeId: nodeId(dc.name, name),
            lanAddress: lanAddress(dc.subnet, role, i + 1),
            dataVolume: dataVolumeName(name),
            ...(role === "server"
                ? { wanAddress: wan[i].address, ...(wan[i].hostPorts ? { hostPorts: wan[i].hostPorts } : {}) }
                : {}),
        };
    });
}

/**
 * Server WAN addresses run on across datacenters in config order, so appending a datacenter moves no
 * one, but a change before a datacenter moves its servers.
 */
function wanAddressesInOrder(wan: Ipv4Cidr, datacenters: readonly DatacenterConfig[]): ServerWan[][] {
    let next = wanOffset + 1;
    return datacenters.map((dc) => Array.from({ length: dc.servers }, () => ({ address: hostAddress(wan, next++) })));
}

/** Across hosts, every server is reached on its host's address, at the ports its slot on that host gives it. */
function hostAddressesInOrder(
    datacenters: readonly DatacenterConfig[],
    addresses: readonly string[],
    peered: boolean,
): ServerWan[][] {
    const ports = serverHostPortsInOrder(
        datacenters.map((dc) => ({ endpoint: dc.host.endpoint, servers: dc.servers })),
        peered,
    );
    return ports.map((servers, i) => servers.map((hostPorts) => ({ address: addresses[i], hostPorts })));
}

/**
 * Each datacenter's mesh gateway: on one host, reached on the WAN network; across hosts, on its host's address at
 * the port it publishes there.
 */
function meshGateways(config: StackConfig): MeshGatewayModel[] {
    const hostPorts = gatewayHostPortsInOrder(config.datacenters.map((dc) => ({ endpoint: dc.host.endpoint })));
    return config.datacenters.map((dc, i) => {
        const id = meshGatewayName(config.namePrefix, dc.name);
        const lanAddress = gatewayLanAddress(dc.subnet);
        return config.hostAddresses
            ? { id, lanAddress, wan: { address: config.hostAddresses[i], port: hostPorts[i] }, hostPort: hostPorts[i] }
            : { id, lanAddress, wan: { address: gatewayWanAddress(config.wanSubnet, i), port: meshPorts.gateway } };
    });
}

/** The model of the whole federation, from the parsed config. */
function layOut(config: StackConfig): StackModel {
    const prefix = config.namePrefix;
    const primaryDatacenter = config.datacenters[0].name;
    const peered = config.datacenters.some((dc) => dc.federation === "peering");
    const serverWan = config.hostAddresses
        ? hostAddressesInOrder(config.datacenters, config.hostAddresses, peered)
        : wanAddressesInOrder(config.wanSubnet, config.datacenters);
    const primaryWan = serverWan[0];
    const gateways = config.mesh?.gateways ? meshGateways(config) : [];
    // The mesh spans the WAN federation: a peering datacenter, a cluster of its own, stays outside it.
    const inMesh = (dc: DatacenterConfig) => config.mesh !== undefined && dc.federation === "wan";
    const datacenters = config.datacenters.map((dc, i): DatacenterModel => {
        const servers = agents(dc, prefix, "server", serverWan[i]);
        const clients = agents(dc, prefix, "client", []);
        const joins = i > 0 && dc.federation === "wan";
        const holdsAcls = i === 0 || dc.federation === "peering";
        return {
            name: dc.name,
            lanNetworkName: lanNetworkName(prefix, dc.name),
            ...(holdsAcls ? { aclInitContainer: aclInitContainerName(prefix, dc.name, i === 0) } : {}),
            federation: dc.federation,
            // A peering datacenter is a cluster of its own: its own primary, holding its own ACLs.
            primaryDatacenter: dc.federation === "peering" ? dc.name : primaryDatacenter,
            ...(dc.federation === "peering" ? { peersWith: primaryDatacenter } : {}),
            // Where peers dial the first datacenter's servers: gRPC TLS on the WAN network, or on the host's address.
            peeringAddresses:
                i === 0 && peered ? primaryWan.map((s) => `${s.address}:${s.hostPorts?.grpcTls ?? 8503}`) : [],
            subnet: dc.subnet,
            gateway: hostAddress(dc.subnet, 1),
            utilityAddress: hostAddress(dc.subnet, serverOffset),
            servers,
            clients,
            host: dc.host,
            // A secondary datacenter's servers join the primary's over the WAN pool
            // (Consul refuses a LAN join across DCs).
            wanJoin: joins
                ? primaryWan.map((s) => (s.hostPorts ? `${s.address}:${s.hostPorts.serfWan}` : s.address))
                : [],
            primaryApis: joins ? primaryWan.map((s) => ({ address: s.address, port: s.hostPorts?.api ?? 8501 })) : [],
            // The local engine publishes where the stack says; another host, where the user reaches it.
            publishAddress:
                dc.host.endpoint !== undefined && dc.host.address !== undefined
                    ? dc.host.address
                    : config.publishAddress,
            published: clients[0] ?? servers[0],
            ports: { http: dc.httpPort, dns: dc.dnsPort },
            services: dc.services,
            inMesh: inMesh(dc),
            instances: serviceInstances(dc.name, dc.subnet, dc.services, prefix, inMesh(dc)),
            ...(gateways[i] && inMesh(dc) ? { meshGateway: gateways[i] } : {}),
        };
    });
    return {
        image: config.image,
        demoImage: config.demoImage,
        envoyImage: config.envoyImage,
        namePrefix: prefix,
        ...(config.gossipKey !== undefined ? { gossipKey: config.gossipKey } : {}),
        keepData: config.keepData,
        dnsAnonymousRead: config.dnsAnonymousRead,
        failoverQueries: config.failoverQueries,
        ...(config.mesh ? { mesh: config.mesh } : {}),
        primaryDatacenter,
        wan: {
            networkName: wanNetworkName(prefix),
            subnet: config.wanSubnet,
            gateway: hostAddress(config.wanSubnet, 1),
        },
        acrossHosts: config.hostAddresses !== undefined,
        peered,
        datacenters,
        serviceNames: [...new Set(datacenters.flatMap((dc) => dc.services.map((s) => s.name)))].sort(),
        kvSeed: config.kvSeed,
        baseConfig: config.baseConfig,
        warnings: config.datacenters.flatMap((dc, i) =>
            datacenterWarnings(dc.name, dc.servers, `datacenters[${i}].servers`),
        ),
    };
}

/** Parses the whole stack config and lays out the model. Throws ConfigProblems listing every problem. */
export function compileStack(settings: StackSettings): StackModel {
    const { config, problems } = parseStack(settings);
    if (!config) {
        throw new ConfigProblems(problems);
    }
    return layOut(config);
}
