// Stack config → the model of the whole federation, in one pure step (as rboyer/devconsul's
// CompileTopology does): every problem of every key listed at once, or a StackModel that everything
// later reads.
import { hostAddress, Ipv4Cidr, parseCidr } from "./cidr";
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

/** The agents of one datacenter: fixed names, node IDs and addresses. */
function agents(dc: DatacenterSettings, subnet: Ipv4Cidr, namePrefix: string, role: AgentRole, wanAddresses: readonly string[]): AgentModel[] {
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
            ...(role === "server" ? { wanAddress: wanAddresses[i] } : {}),
        };
    });
}

/**
 * Server WAN addresses run on across datacenters in config order, so appending a datacenter moves no
 * one, but a change before a datacenter moves its servers.
 */
function wanAddressesInOrder(wan: Ipv4Cidr, serverCounts: readonly number[]): string[][] {
    let next = wanOffset + 1;
    return serverCounts.map((count) => Array.from({ length: count }, () => hostAddress(wan, next++)));
}

/** Validates the whole stack config and builds the model. Throws ConfigProblems listing every problem. */
export function compileStack(settings: StackSettings): StackModel {
    const problems = stackProblems(settings);
    if (problems.length > 0) {
        throw new ConfigProblems(problems);
    }
    const wan = parseCidr(settings.wanSubnet) as Ipv4Cidr;
    const primaryDatacenter = settings.datacenters[0].name;
    const wanAddresses = wanAddressesInOrder(wan, settings.datacenters.map((dc) => dc.servers));
    const prefix = settings.namePrefix;
    const datacenters = settings.datacenters.map((dc, i): DatacenterModel => {
        const subnet = parseCidr(dc.subnet) as Ipv4Cidr;
        const servers = agents(dc, subnet, prefix, "server", wanAddresses[i]);
        const clients = agents(dc, subnet, prefix, "client", []);
        return {
            name: dc.name,
            primaryDatacenter,
            subnet,
            gateway: hostAddress(subnet, 1),
            utilityAddress: hostAddress(subnet, serverOffset),
            servers,
            clients,
            // A secondary datacenter's servers join the primary's over the WAN pool (Consul refuses a LAN join across DCs).
            wanJoin: i === 0 ? [] : wanAddresses[0],
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
        publishAddress: settings.publishAddress,
        ...(settings.gossipKey !== undefined ? { gossipKey: settings.gossipKey } : {}),
        keepData: settings.keepData,
        dnsAnonymousRead: settings.dnsAnonymousRead,
        primaryDatacenter,
        wan: { subnet: wan, gateway: hostAddress(wan, 1) },
        datacenters,
        serviceNames: [...new Set(datacenters.flatMap((dc) => dc.services.map((s) => s.name)))].sort(),
        kvSeed: settings.kvSeed?.text !== undefined ? parseKvSeed(settings.kvSeed.text, "kvSeed", settings.kvSeed.path) : [],
        baseConfig: Object.fromEntries(baseConfigFileNames.map((f) => [f, files[f] as string])),
        warnings: settings.datacenters.flatMap((dc, i) => datacenterWarnings(dc.name, dc.servers, `datacenters[${i}].servers`)),
    };
}
