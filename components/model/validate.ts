// Every check of the stack config, each problem naming its config key and what is allowed. compile.ts
// runs them all and lists every problem at once. Pure: no Pulumi, no Docker, no files.
import { isIPv4 } from "node:net";
import { isWholeNumberIn, show } from "./describe";
import { cidrsOverlap, Ipv4Cidr, parseCidr } from "./cidr";
import { dockerHostProblems } from "./docker-hosts";
import { parseKvSeed } from "./kv-seed";
import { instanceOffset, serviceProblems } from "./services";
import { DatacenterSettings, federations, StackSettings } from "./settings";
import { baseConfigFileNames } from "./stack-model";

// Fixed host offsets inside a subnet: .1 is Docker's gateway, servers from .11, clients from .101,
// demo service instances from .201 (services.ts).
export const serverOffset = 10;
export const clientOffset = 100;
const maxServers = clientOffset - serverOffset - 1;
const maxClients = instanceOffset - clientOffset;
export const wanOffset = 10;

const datacenterNamePattern = /^[a-z0-9_-]+$/;
const namePrefixPattern = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/;
// Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest].
const imageReferencePattern = new RegExp(
    "^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?" +
        "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*" +
        "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?" +
        "(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
);

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

/** The checks one datacenter needs on its own; `key` is its config key, e.g. datacenters[0]. */
function datacenterProblems(dc: Partial<Record<keyof DatacenterSettings, unknown>>, key: string): string[] {
    const keyOf = (field: keyof DatacenterSettings) => `${key}.${field}`;
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
    if (dc.federation !== undefined && !federations.includes(dc.federation as never)) {
        problems.push(`${keyOf("federation")} must be ${federations.map((f) => `"${f}"`).join(" or ")}, not ${show(dc.federation)}`);
    }
    return problems;
}

/** The first datacenter is the one every other joins or peers with, so it cannot peer itself. */
function firstDatacenterProblem(first: Partial<Record<keyof DatacenterSettings, unknown>>): string | undefined {
    return first.federation === "peering"
        ? 'datacenters[0].federation cannot be "peering": the first datacenter is the primary, which WAN datacenters join and ' +
              'peering datacenters peer with. Put a "wan" datacenter first, or leave federation unset there.'
        : undefined;
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

/** Each published port is a port number; dockerHostProblems checks each is used once on its host. */
function portProblems(settings: StackSettings): string[] {
    return settings.datacenters.flatMap((dc, i) =>
        (["httpPort", "dnsPort"] as const).flatMap((field) =>
            isWholeNumberIn(dc[field], 1, 65535) ? [] : [`datacenters[${i}].${field} must be a port number from 1 to 65535, not ${show(dc[field])}`],
        ),
    );
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

function fileProblems(settings: StackSettings): string[] {
    const problems: string[] = [];
    const { dir, files } = settings.baseConfig;
    const missing = baseConfigFileNames.filter((f) => files[f] === undefined);
    if (missing.length > 0) {
        problems.push(`baseConfigDir: ${dir} must hold ${baseConfigFileNames.join(", ")} (copy consul-config/ and change it); ${missing.join(", ")} missing`);
    }
    const seed = settings.kvSeed;
    if (seed && seed.text === undefined) {
        problems.push(`kvSeed: ${seed.path} does not exist`);
    } else if (seed?.text !== undefined) {
        try {
            parseKvSeed(seed.text, "kvSeed", seed.path);
        } catch (e) {
            problems.push((e as Error).message);
        }
    }
    if (settings.keepData && !settings.gossipKey) {
        problems.push(
            "keepData: kept volumes hold the agents' gossip keyring, so the next stack must use the same key. Set one first: " +
                "pulumi config set --secret gossipKey \"$(consul keygen)\" (or 32 random bytes, base64).",
        );
    }
    return problems;
}

/** Every problem with the stack config; empty when there is none. */
export function stackProblems(settings: StackSettings): string[] {
    const problems: string[] = [];
    const push = (p: string | undefined) => p && problems.push(p);

    push(imageReferenceProblem("image", settings.image));
    push(imageReferenceProblem("demoImage", settings.demoImage));
    if (settings.gossipKey !== undefined) {
        push(gossipKeyProblem("gossipKey", settings.gossipKey));
    }
    if (typeof settings.publishAddress !== "string" || !isIPv4(settings.publishAddress)) {
        problems.push(`publishAddress must be an IPv4 address such as 127.0.0.1, not ${show(settings.publishAddress)}`);
    }
    if (typeof settings.namePrefix !== "string" || !namePrefixPattern.test(settings.namePrefix)) {
        problems.push(
            `namePrefix must be empty or start with a letter or digit followed by letters, digits, "_", "." or "-", not ${show(settings.namePrefix)}`,
        );
    }
    problems.push(...fileProblems(settings));
    const wan = parseCidr(settings.wanSubnet);
    if (typeof wan === "string") {
        problems.push(`wanSubnet ${wan}`);
    }
    if (!Array.isArray(settings.datacenters) || settings.datacenters.length === 0) {
        problems.push("datacenters must be a list of at least one datacenter; the first is the primary");
        return problems;
    }

    push(firstDatacenterProblem(settings.datacenters[0]));
    const names = new Map<string, number>();
    settings.datacenters.forEach((dc, i) => {
        problems.push(...datacenterProblems(dc, `datacenters[${i}]`));
        problems.push(...serviceProblems(dc.services, dc.clients, `datacenters[${i}].services`));
        const first = names.get(dc.name);
        if (first !== undefined) {
            problems.push(`datacenters[${i}].name "${dc.name}" is already used by datacenters[${first}]; names must be unique`);
        } else {
            names.set(dc.name, i);
        }
    });
    problems.push(...portProblems(settings), ...dockerHostProblems(settings), ...subnetOverlapProblems(settings));

    const totalServers = settings.datacenters.reduce((n, dc) => n + (Number(dc.servers) || 0), 0);
    if (typeof wan !== "string" && wanOffset + totalServers >= 2 ** (32 - wan.prefix) - 1) {
        problems.push(`wanSubnet ${wan.text} has no room for ${totalServers} servers; use a larger subnet`);
    }
    return problems;
}
