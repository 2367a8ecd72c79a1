// Stack config → the model of the whole federation, in one pure step (as rboyer/devconsul's
// CompileTopology does): every problem of every key listed at once, or a StackModel that everything
// later reads.
import { hostAddress, Ipv4Cidr, parseCidr } from "./cidr";
import { DockerHostModel, hasPeering, hostKey, ServerHostPorts, serverHostPorts, spansHosts } from "./docker-hosts";
import { parseKvSeed } from "./kv-seed";
import { nodeId } from "./node-id";
import { serviceInstances } from "./services";
import { ConfigProblems, DatacenterSettings, StackSettings } from "./settings";
import { AgentModel, AgentRole, baseConfigFileNames, DatacenterModel, StackModel } from "./stack-model";
import { clientOffset, datacenterWarnings, serverOffset, stackProblems, wanOffset } from "./validate";

/** Container name, hostname and Consul node name of an agent, e.g. dc1-server1. */
export function agentName(namePrefix: string, datacenter: string, role: AgentRole, ordinal: number): string {
    return `${namePrefix}${datacenter}-${role}${ordinal}`;
}

/** Where a datacenter's servers are reached from other datacenters: each its WAN address, and its host ports across hosts. */
type ServerWan = { readonly address: string; readonly hostPorts?: ServerHostPorts };

/** The agents of one datacenter: fixed names, node IDs and addresses. */
function agents(dc: DatacenterSettings, subnet: Ipv4Cidr, namePrefix: string, role: AgentRole, wan: readonly ServerWan[]): AgentModel[] {
    const count = role === "server" ? dc.servers : dc.clients;
    return Array.from({ length: count }, (_, i) => {
        const name = agentName(namePrefix, dc.name, role, i + 1);
        return {
            name,
            datacenter: dc.name,
            role,
            ordinal: i + 1,
            nodeId: nodeId(dc.name, name),
            lanAddress: hostAddress(subnet, (role === "server" ? serverOffset : clientOffset) + i + 1),
            ...(role === "server" ? { wanAddress: wan[i].address, ...(wan[i].hostPorts ? { hostPorts: wan[i].hostPorts } : {}) } : {}),
        };
    });
}

/**
 * Server WAN addresses run on across datacenters in config order, so appending a datacenter moves no
 * one, but a change before a datacenter moves its servers.
 */
function wanAddressesInOrder(wan: Ipv4Cidr, serverCounts: readonly number[]): ServerWan[][] {
    let next = wanOffset + 1;
    return serverCounts.map((count) => Array.from({ length: count }, () => ({ address: hostAddress(wan, next++) })));
}

/** Across hosts, every server is reached on its host's address, at ports that run on across the host's servers in config order. */
function hostAddressesInOrder(datacenters: readonly DatacenterSettings[]): ServerWan[][] {
    const peered = hasPeering(datacenters);
    const slots = new Map<string, number>();
    return datacenters.map((dc, i) =>
        Array.from({ length: dc.servers }, () => {
            const slot = slots.get(hostKey(dc)) ?? 0;
            slots.set(hostKey(dc), slot + 1);
            return { address: dc.hostAddress as string, hostPorts: serverHostPorts(slot, i === 0, peered) };
        }),
    );
}

function dockerHost(dc: DatacenterSettings): DockerHostModel {
    return {
        ...(dc.dockerHost !== undefined ? { endpoint: dc.dockerHost } : {}),
        ...(dc.dockerCertPath !== undefined ? { certPath: dc.dockerCertPath } : {}),
        sshOpts: dc.dockerSshOpts ?? [],
        ...(dc.hostAddress !== undefined ? { address: dc.hostAddress } : {}),
    };
}

/** Validates the whole stack config and builds the model. Throws ConfigProblems listing every problem. */
export function compileStack(settings: StackSettings): StackModel {
    const problems = stackProblems(settings);
    if (problems.length > 0) {
        throw new ConfigProblems(problems);
    }
    const wan = parseCidr(settings.wanSubnet) as Ipv4Cidr;
    const primaryDatacenter = settings.datacenters[0].name;
    const acrossHosts = spansHosts(settings.datacenters);
    const serverWan = acrossHosts ? hostAddressesInOrder(settings.datacenters) : wanAddressesInOrder(wan, settings.datacenters.map((dc) => dc.servers));
    const primaryWan = serverWan[0];
    const peered = hasPeering(settings.datacenters);
    const prefix = settings.namePrefix;
    const datacenters = settings.datacenters.map((dc, i): DatacenterModel => {
        const subnet = parseCidr(dc.subnet) as Ipv4Cidr;
        const servers = agents(dc, subnet, prefix, "server", serverWan[i]);
        const clients = agents(dc, subnet, prefix, "client", []);
        const federation = dc.federation ?? "wan";
        const joins = i > 0 && federation === "wan";
        const holdsAcls = i === 0 || federation === "peering";
        return {
            name: dc.name,
            lanNetworkName: `${prefix}${dc.name}-lan`,
            ...(holdsAcls ? { aclInitContainer: `${prefix}consul-acl-init${i === 0 ? "" : `-${dc.name}`}` } : {}),
            federation,
            // A peering datacenter is a cluster of its own: its own primary, holding its own ACLs.
            primaryDatacenter: federation === "peering" ? dc.name : primaryDatacenter,
            ...(federation === "peering" ? { peersWith: primaryDatacenter } : {}),
            // Where peers dial the first datacenter's servers: gRPC TLS on the WAN network, or on the host's address.
            peeringAddresses: i === 0 && peered ? primaryWan.map((s) => `${s.address}:${s.hostPorts?.grpcTls ?? 8503}`) : [],
            subnet,
            gateway: hostAddress(subnet, 1),
            utilityAddress: hostAddress(subnet, serverOffset),
            servers,
            clients,
            host: dockerHost(dc),
            // A secondary datacenter's servers join the primary's over the WAN pool (Consul refuses a LAN join across DCs).
            wanJoin: joins ? primaryWan.map((s) => (s.hostPorts ? `${s.address}:${s.hostPorts.serfWan}` : s.address)) : [],
            primaryApis: joins ? primaryWan.map((s) => ({ address: s.address, port: s.hostPorts?.api ?? 8501 })) : [],
            // The local engine publishes where the stack says; another host, where the user reaches it.
            publishAddress: dc.dockerHost !== undefined && dc.hostAddress !== undefined ? dc.hostAddress : settings.publishAddress,
            published: clients[0] ?? servers[0],
            ports: { http: dc.httpPort, dns: dc.dnsPort },
            services: dc.services ?? [],
            instances: serviceInstances(dc.name, subnet, dc.services ?? [], prefix),
        };
    });
    const files = settings.baseConfig.files;
    return {
        image: settings.image,
        demoImage: settings.demoImage,
        namePrefix: prefix,
        ...(settings.gossipKey !== undefined ? { gossipKey: settings.gossipKey } : {}),
        keepData: settings.keepData,
        dnsAnonymousRead: settings.dnsAnonymousRead,
        failoverQueries: settings.failoverQueries,
        primaryDatacenter,
        wan: { networkName: `${prefix}consul-wan`, subnet: wan, gateway: hostAddress(wan, 1) },
        acrossHosts,
        peered,
        datacenters,
        serviceNames: [...new Set(datacenters.flatMap((dc) => dc.services.map((s) => s.name)))].sort(),
        kvSeed: settings.kvSeed?.text !== undefined ? parseKvSeed(settings.kvSeed.text, "kvSeed", settings.kvSeed.path) : [],
        baseConfig: Object.fromEntries(baseConfigFileNames.map((f) => [f, files[f] as string])),
        warnings: settings.datacenters.flatMap((dc, i) => datacenterWarnings(dc.name, dc.servers, `datacenters[${i}].servers`)),
    };
}
