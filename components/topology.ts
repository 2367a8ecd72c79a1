// The typed model of the cluster, and the checks that turn raw stack config into it.
// Pure: no Pulumi, no Docker, so every rule here is tested on its own.
import { cidrsOverlap, hostAddress, Ipv4Cidr, parseCidr } from "./cidr";
import { instanceOffset, serviceProblems, ServiceSettings } from "./services";
import { nodeId } from "./node-id";

/** One entry of the `datacenters` stack config, as the user wrote it. */
export interface DatacenterSettings {
    readonly name: string;
    readonly servers: number;
    readonly clients: number;
    readonly subnet: string;
    readonly httpPort: number;
    readonly dnsPort: number;
    /** Demo services registered on this datacenter's client agent; none unless set. */
    readonly services?: readonly ServiceSettings[];
}

/** The whole stack config, as the user wrote it. */
export interface StackSettings {
    readonly image: string;
    readonly datacenters: readonly DatacenterSettings[];
    readonly wanSubnet: string;
    readonly publishAddress: string;
    readonly namePrefix: string;
    /** Optional: when absent the stack generates one. A secret, so no message ever repeats it. */
    readonly gossipKey?: string;
    /** Image of the demo service instances. */
    readonly demoImage: string;
}

export type AgentRole = "server" | "client";

export interface AgentModel {
    /** Container name, hostname and Consul node name, e.g. dc1-server1. */
    readonly name: string;
    readonly datacenter: string;
    readonly role: AgentRole;
    /** 1-based position among the agents of its role, e.g. 2 for dc1-server2. */
    readonly ordinal: number;
    /** The Consul node ID: the same for the same datacenter and name in every stack (node-id.ts). */
    readonly nodeId: string;
    readonly lanAddress: string;
    /** Servers only: the address on the WAN network that federates datacenters. */
    readonly wanAddress?: string;
}

export interface DatacenterModel {
    readonly name: string;
    readonly primaryDatacenter: string;
    readonly subnet: string;
    readonly gateway: string;
    /** A free address below the servers' range, for one-off tools such as the acl-init container. */
    readonly utilityAddress: string;
    readonly servers: readonly AgentModel[];
    readonly clients: readonly AgentModel[];
}

/** What the ConsulDatacenter component needs to lay out one datacenter. */
export interface DatacenterLayout {
    readonly name: string;
    readonly primaryDatacenter: string;
    readonly servers: number;
    readonly clients: number;
    readonly subnet: string;
    /** One WAN address per server, in order. */
    readonly wanAddresses: readonly string[];
    readonly namePrefix?: string;
}

export interface StackPlan {
    readonly datacenters: readonly (DatacenterSettings & { readonly wanAddresses: readonly string[] })[];
    readonly primaryDatacenter: string;
    readonly wan: { readonly subnet: string; readonly gateway: string };
    readonly warnings: readonly string[];
}

/** Thrown with every problem found, so a user fixes their config in one pass. */
export class ConfigProblems extends Error {
    constructor(readonly problems: readonly string[], heading = "Invalid stack config") {
        super(`${heading}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigProblems";
    }
}

// Fixed host offsets inside a subnet: .1 is Docker's gateway, servers from .11, clients from .101,
// demo service instances from .201 (services.ts).
const serverOffset = 10;
const clientOffset = 100;
const maxServers = clientOffset - serverOffset - 1;
const maxClients = instanceOffset - clientOffset;
const wanOffset = 10;

const datacenterNamePattern = /^[a-z0-9_-]+$/;
const namePrefixPattern = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/;
// Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest].
const imageReferencePattern = new RegExp(
    "^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?" +
        "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*" +
        "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?" +
        "(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
);

function isWholeNumberIn(value: unknown, min: number, max: number): value is number {
    return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

function imageReferenceProblem(key: string, image: unknown): string | undefined {
    if (typeof image === "string" && image.length <= 255 && imageReferencePattern.test(image)) {
        return undefined;
    }
    return `${key} must be a Docker image reference such as hashicorp/consul:1.22.7, not ${show(image)}`;
}

/** Never echoes the key itself: it is a secret. */
function gossipKeyProblem(key: string, gossipKey: string): string | undefined {
    const valid =
        /^[A-Za-z0-9+/]+={0,2}$/.test(gossipKey) &&
        gossipKey.length % 4 === 0 &&
        [16, 24, 32].includes(Buffer.from(gossipKey, "base64").length);
    return valid
        ? undefined
        : `${key} must be base64 of 16, 24 or 32 bytes (as \`consul keygen\` prints); the value given is not`;
}

/**
 * The checks one datacenter needs on its own. `keyOf` names a field the way the caller's user sees it:
 * a stack config key for index.ts, an argument name for the component.
 */
export function datacenterProblems(
    dc: Partial<Record<keyof DatacenterSettings, unknown>>,
    keyOf: (field: keyof DatacenterSettings) => string,
): string[] {
    const problems: string[] = [];
    if (typeof dc.name !== "string" || !datacenterNamePattern.test(dc.name)) {
        problems.push(`${keyOf("name")} must use only lowercase letters, digits, "_" and "-", not ${show(dc.name)}`);
    }
    if (!isWholeNumberIn(dc.servers, 1, maxServers)) {
        problems.push(`${keyOf("servers")} must be a whole number from 1 to ${maxServers}, not ${show(dc.servers)}`);
    }
    if (!isWholeNumberIn(dc.clients, 0, maxClients)) {
        problems.push(`${keyOf("clients")} must be a whole number from 0 to ${maxClients}, not ${show(dc.clients)}`);
    }
    const subnet = parseCidr(dc.subnet);
    if (typeof subnet === "string") {
        problems.push(`${keyOf("subnet")} ${subnet}`);
    }
    return problems;
}

export function datacenterWarnings(name: string, servers: number, key: string): string[] {
    const warnings: string[] = [];
    if (servers > 1 && servers % 2 === 0) {
        warnings.push(
            `${key} is ${servers} in ${name}: an even number of servers tolerates no more failures than ${servers - 1}`,
        );
    }
    if (servers > 7) {
        warnings.push(`${key} is ${servers} in ${name}: more than 7 servers slows every Raft write for no gain`);
    }
    return warnings;
}

function portProblems(settings: StackSettings): string[] {
    const problems: string[] = [];
    const seen = new Map<number, string>();
    settings.datacenters.forEach((dc, i) => {
        for (const field of ["httpPort", "dnsPort"] as const) {
            const key = `datacenters[${i}].${field}`;
            const port = dc[field];
            if (!isWholeNumberIn(port, 1, 65535)) {
                problems.push(`${key} must be a port number from 1 to 65535, not ${show(port)}`);
                continue;
            }
            const other = seen.get(port);
            if (other) {
                problems.push(`${key} is ${port}, which ${other} already uses; each host port must be unique`);
            } else {
                seen.set(port, key);
            }
        }
    });
    return problems;
}

function subnetOverlapProblems(settings: StackSettings): string[] {
    const named: { key: string; cidr: Ipv4Cidr }[] = [];
    const wan = parseCidr(settings.wanSubnet);
    if (typeof wan !== "string") {
        named.push({ key: "wanSubnet", cidr: wan });
    }
    settings.datacenters.forEach((dc, i) => {
        const cidr = parseCidr(dc.subnet);
        if (typeof cidr !== "string") {
            named.push({ key: `datacenters[${i}].subnet`, cidr });
        }
    });
    const problems: string[] = [];
    named.forEach((a, i) =>
        named.slice(i + 1).forEach((b) => {
            if (cidrsOverlap(a.cidr, b.cidr)) {
                problems.push(`${b.key} (${b.cidr.text}) overlaps ${a.key} (${a.cidr.text}); subnets must not overlap`);
            }
        }),
    );
    return problems;
}

/**
 * Each datacenter's server WAN addresses, given its server count, in config order. They run on across
 * datacenters, so appending a datacenter moves no one, but a change before a datacenter moves its servers.
 */
function wanAddressesInOrder(wan: Ipv4Cidr, serverCounts: readonly number[]): string[][] {
    let next = wanOffset + 1;
    return serverCounts.map((count) => Array.from({ length: count }, () => hostAddress(wan, next++)));
}

/** Validates the whole stack config and assigns every server its WAN address. Throws ConfigProblems. */
export function planStack(settings: StackSettings): StackPlan {
    const problems: string[] = [];
    const push = (p: string | undefined) => p && problems.push(p);

    push(imageReferenceProblem("image", settings.image));
    push(imageReferenceProblem("demoImage", settings.demoImage));
    if (settings.gossipKey !== undefined) {
        push(gossipKeyProblem("gossipKey", settings.gossipKey));
    }
    if (typeof settings.publishAddress !== "string" || !/^\d{1,3}(\.\d{1,3}){3}$/.test(settings.publishAddress)) {
        problems.push(`publishAddress must be an IPv4 address such as 127.0.0.1, not ${show(settings.publishAddress)}`);
    }
    if (typeof settings.namePrefix !== "string" || !namePrefixPattern.test(settings.namePrefix)) {
        problems.push(
            `namePrefix must be empty or start with a letter or digit followed by letters, digits, "_", "." or "-", not ${show(settings.namePrefix)}`,
        );
    }
    const wan = parseCidr(settings.wanSubnet);
    if (typeof wan === "string") {
        problems.push(`wanSubnet ${wan}`);
    }
    if (!Array.isArray(settings.datacenters) || settings.datacenters.length === 0) {
        problems.push("datacenters must be a list of at least one datacenter; the first is the primary");
        throw new ConfigProblems(problems);
    }

    const names = new Map<string, number>();
    settings.datacenters.forEach((dc, i) => {
        problems.push(...datacenterProblems(dc, (field) => `datacenters[${i}].${field}`));
        problems.push(...serviceProblems(dc.services, dc.clients, `datacenters[${i}].services`));
        const first = names.get(dc.name);
        if (first !== undefined) {
            problems.push(`datacenters[${i}].name "${dc.name}" is already used by datacenters[${first}]; names must be unique`);
        } else {
            names.set(dc.name, i);
        }
    });
    problems.push(...portProblems(settings), ...subnetOverlapProblems(settings));

    const totalServers = settings.datacenters.reduce((n, dc) => n + (Number(dc.servers) || 0), 0);
    if (typeof wan !== "string" && wanOffset + totalServers >= 2 ** (32 - wan.prefix) - 1) {
        problems.push(`wanSubnet ${wan.text} has no room for ${totalServers} servers; use a larger subnet`);
    }
    if (problems.length > 0) {
        throw new ConfigProblems(problems);
    }

    const wanCidr = wan as Ipv4Cidr;
    const wanAddresses = wanAddressesInOrder(wanCidr, settings.datacenters.map((dc) => dc.servers));
    const datacenters = settings.datacenters.map((dc, i) => ({ ...dc, wanAddresses: wanAddresses[i] }));
    const warnings = settings.datacenters.flatMap((dc, i) =>
        datacenterWarnings(dc.name, dc.servers, `datacenters[${i}].servers`),
    );
    return {
        datacenters,
        primaryDatacenter: settings.datacenters[0].name,
        wan: { subnet: wanCidr.text, gateway: hostAddress(wanCidr, 1) },
        warnings,
    };
}

/** The agents of one datacenter with their fixed names and addresses. Expects a validated layout. */
export function datacenterModel(layout: DatacenterLayout): DatacenterModel {
    const subnet = parseCidr(layout.subnet) as Ipv4Cidr;
    const prefix = layout.namePrefix ?? "";
    const agent = (role: AgentRole, ordinal: number, wanAddress?: string): AgentModel => {
        const name = `${prefix}${layout.name}-${role}${ordinal}`;
        return {
            name,
            datacenter: layout.name,
            role,
            ordinal,
            nodeId: nodeId(layout.name, name),
            lanAddress: hostAddress(subnet, (role === "server" ? serverOffset : clientOffset) + ordinal),
            ...(wanAddress ? { wanAddress } : {}),
        };
    };
    return {
        name: layout.name,
        primaryDatacenter: layout.primaryDatacenter,
        subnet: layout.subnet,
        gateway: hostAddress(subnet, 1),
        utilityAddress: hostAddress(subnet, serverOffset),
        servers: Array.from({ length: layout.servers }, (_, i) => agent("server", i + 1, layout.wanAddresses[i])),
        clients: Array.from({ length: layout.clients }, (_, i) => agent("client", i + 1)),
    };
}
