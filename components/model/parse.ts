// The one pass from the stack config as the user wrote it (settings.ts: nothing checked yet) to typed
// values and every problem, each naming its config key and what is allowed. compile.ts lays the model out
// from the typed values only. Pure: no Pulumi, no Docker, no files.
import { cidrsOverlap, type Ipv4Cidr, parseCidr } from "./cidr";
import { datacenterConfigKeys } from "./config-keys";
import {
    isBoolean,
    isIpv4Address,
    isRecord,
    matching,
    parseWith,
    show,
    unknownKeyProblems,
    wholeNumberIn,
} from "./describe";
import { type DockerHostModel, hostProblems, isHostAddress, parseDockerHost, spansHosts } from "./docker-hosts";
import { parseKvSeed } from "./kv-seed";
import { maxClients, maxServers, wanOffset } from "./lan-layout";
import { type MeshConfig, parseMesh } from "./mesh";
import { parseServices, type ServiceConfig } from "./services";
import { type Federation, federations, type StackSettings } from "./settings";
import { baseConfigFileNames } from "./stack-model";

/** One datacenter, every value checked and every default filled in. */
export interface DatacenterConfig {
    readonly name: string;
    readonly servers: number;
    readonly clients: number;
    readonly subnet: Ipv4Cidr;
    readonly httpPort: number;
    readonly dnsPort: number;
    readonly services: readonly ServiceConfig[];
    readonly host: DockerHostModel;
    readonly federation: Federation;
}

/** The stack config, every value checked: what compileStack lays the model out from. */
export interface StackConfig {
    readonly image: string;
    readonly demoImage: string;
    readonly envoyImage: string;
    readonly wanSubnet: Ipv4Cidr;
    readonly publishAddress: string;
    readonly namePrefix: string;
    /** A secret: no message ever repeats it. */
    readonly gossipKey?: string;
    readonly keepData: boolean;
    readonly dnsAnonymousRead: boolean;
    readonly failoverQueries: boolean;
    /** The service mesh, when on. */
    readonly mesh?: MeshConfig;
    readonly kvSeed: readonly (readonly [string, string])[];
    /** The base config files by name. */
    readonly baseConfig: Readonly<Record<string, string>>;
    /** The primary first. */
    readonly datacenters: readonly DatacenterConfig[];
    /** Datacenters on more than one Docker host only: each one's host address, where the others reach its servers. */
    readonly hostAddresses?: readonly string[];
}

/** The typed config, or every problem with the config as written. */
export type ParsedStack =
    | { readonly config: StackConfig; readonly problems: readonly [] }
    | { readonly config?: undefined; readonly problems: readonly string[] };

// Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest].
const imageReferencePattern = new RegExp(
    "^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])" +
        "(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?" +
        "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*" +
        "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?" +
        "(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
);
const isImageReference = (value: unknown): value is string =>
    matching(imageReferencePattern)(value) && value.length <= 255;
const isGossipKey = (value: unknown): value is string =>
    matching(/^[A-Za-z0-9+/]+={0,2}$/)(value) &&
    value.length % 4 === 0 &&
    [16, 24, 32].includes(Buffer.from(value, "base64").length);
const isDatacenterName = matching(/^[a-z0-9_-]+$/);
const isNamePrefix = matching(/^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$/);
const isFederation = (value: unknown): value is Federation => federations.some((f) => f === value);
function cidr(key: string, text: unknown, problems: string[]): Ipv4Cidr | undefined {
    const parsed = parseCidr(text);
    if (typeof parsed === "string") {
        problems.push(`${key} ${parsed}`);
        return undefined;
    }
    return parsed;
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

/** A datacenter while the checks across datacenters run: each value once it parsed, undefined until then. */
interface DatacenterDraft {
    readonly name?: string;
    readonly servers?: number;
    readonly clients?: number;
    readonly subnet?: Ipv4Cidr;
    readonly httpPort?: number;
    readonly dnsPort?: number;
    readonly services?: readonly ServiceConfig[];
    readonly host?: DockerHostModel;
    readonly federation?: Federation;
    /** The dockerHost as written, which says which datacenters share a host even when it does not parse. */
    readonly endpoint?: unknown;
    /** The hostAddress, once it parsed, even when another host key did not. */
    readonly hostAddress?: string;
}

/** The keys of one entry of `datacenters` (`key`, e.g. datacenters[0]) on their own. */
function parseDatacenter(
    raw: unknown,
    key: string,
    settings: StackSettings,
    acrossHosts: boolean,
    problems: string[],
): DatacenterDraft {
    if (!isRecord(raw)) {
        problems.push(
            `${key} must be a datacenter: an object with ${datacenterConfigKeys.join(", ")}, not ${show(raw)}`,
        );
        return {};
    }
    problems.push(...unknownKeyProblems(raw, datacenterConfigKeys, key, "a datacenter"));
    const port = (field: "httpPort" | "dnsPort") =>
        parseWith(
            raw[field],
            wholeNumberIn(1, 65535),
            `${key}.${field} must be a port number from 1 to 65535, not ${show(raw[field])}`,
            problems,
        );
    const certPath = raw.dockerCertPath;
    return {
        name: parseWith(
            raw.name,
            isDatacenterName,
            `${key}.name must use only lowercase letters, digits, "_" and "-", not ${show(raw.name)}`,
            problems,
        ),
        servers: parseWith(
            raw.servers,
            wholeNumberIn(1, maxServers),
            `${key}.servers must be a whole number from 1 to ${maxServers}, not ${show(raw.servers)}`,
            problems,
        ),
        clients: parseWith(
            raw.clients,
            wholeNumberIn(0, maxClients),
            `${key}.clients must be a whole number from 0 to ${maxClients}, not ${show(raw.clients)}`,
            problems,
        ),
        subnet: cidr(`${key}.subnet`, raw.subnet, problems),
        federation:
            raw.federation === undefined
                ? "wan"
                : parseWith(
                      raw.federation,
                      isFederation,
                      `${key}.federation must be ${federations.map((f) => `"${f}"`).join(" or ")}, ` +
                          `not ${show(raw.federation)}`,
                      problems,
                  ),
        services: parseServices(raw.services, raw.clients, `${key}.services`, problems),
        httpPort: port("httpPort"),
        dnsPort: port("dnsPort"),
        host: parseDockerHost(
            raw,
            key,
            typeof certPath === "string" ? settings.dockerCertFiles?.[certPath] : undefined,
            acrossHosts,
            problems,
        ),
        endpoint: raw.dockerHost,
        hostAddress: isHostAddress(raw.hostAddress) ? raw.hostAddress : undefined,
    };
}

/** A datacenter whose every key parsed. */
function complete(dc: DatacenterDraft): DatacenterConfig | undefined {
    const { name, servers, clients, subnet, httpPort, dnsPort, services, host, federation } = dc;
    return name !== undefined &&
        servers !== undefined &&
        clients !== undefined &&
        subnet !== undefined &&
        httpPort !== undefined &&
        dnsPort !== undefined &&
        services !== undefined &&
        host !== undefined &&
        federation !== undefined
        ? { name, servers, clients, subnet, httpPort, dnsPort, services, host, federation }
        : undefined;
}

/** Names unique, the first datacenter not a peering one, subnets apart, hosts and ports consistent, room on the WAN. */
function acrossDatacenters(
    dcs: readonly DatacenterDraft[],
    wan: Ipv4Cidr | undefined,
    prefix: string,
    gateways: boolean,
): string[] {
    const problems: string[] = [];
    if (dcs[0].federation === "peering") {
        problems.push(
            'datacenters[0].federation cannot be "peering": the first datacenter is the primary, ' +
                "which WAN datacenters join and " +
                'peering datacenters peer with. Put a "wan" datacenter first, or leave federation unset there.',
        );
    }
    const names = new Map<string, number>();
    dcs.forEach((dc, i) => {
        const first = dc.name === undefined ? undefined : names.get(dc.name);
        if (first !== undefined) {
            problems.push(
                `datacenters[${i}].name "${dc.name}" is already used by datacenters[${first}]; names must be unique`,
            );
        } else if (dc.name !== undefined) {
            names.set(dc.name, i);
        }
    });
    const peered = dcs.some((dc) => dc.federation === "peering");
    problems.push(...hostProblems(dcs, prefix, peered, gateways));
    const subnets = [
        ...(wan ? [{ key: "wanSubnet", cidr: wan }] : []),
        ...dcs.flatMap((dc, i) => (dc.subnet ? [{ key: `datacenters[${i}].subnet`, cidr: dc.subnet }] : [])),
    ];
    subnets.forEach((a, i) =>
        subnets.slice(i + 1).forEach((b) => {
            if (cidrsOverlap(a.cidr, b.cidr)) {
                problems.push(`${b.key} (${b.cidr.text}) overlaps ${a.key} (${a.cidr.text}); subnets must not overlap`);
            }
        }),
    );
    // Servers from the bottom, mesh gateways from the top.
    const totalServers = dcs.reduce((n, dc) => n + (dc.servers ?? 0), 0);
    const gatewayCount = gateways ? dcs.length : 0;
    if (wan && wanOffset + totalServers >= 2 ** (32 - wan.prefix) - 1 - gatewayCount) {
        problems.push(
            `wanSubnet ${wan.text} has no room for ${totalServers} servers` +
                `${gatewayCount > 0 ? ` and ${gatewayCount} mesh gateways` : ""}; use a larger subnet`,
        );
    }
    return problems;
}

/** The base config files by name, once every one is there. */
function parseBaseConfig(settings: StackSettings, problems: string[]): Record<string, string> | undefined {
    const { dir, files } = settings.baseConfig;
    const present = baseConfigFileNames.flatMap((f): [string, string][] => {
        const text = files[f];
        return text === undefined ? [] : [[f, text]];
    });
    const missing = baseConfigFileNames.filter((f) => files[f] === undefined);
    if (missing.length > 0) {
        problems.push(
            `baseConfigDir: ${dir} must hold ${baseConfigFileNames.join(", ")} (copy consul-config/ and change it); ` +
                `${missing.join(", ")} missing`,
        );
        return undefined;
    }
    return Object.fromEntries(present);
}

function parseSeed(settings: StackSettings, problems: string[]): [string, string][] | undefined {
    const seed = settings.kvSeed;
    if (seed === undefined) {
        return [];
    }
    if (seed.text === undefined) {
        problems.push(`kvSeed: ${seed.path} does not exist`);
        return undefined;
    }
    return parseKvSeed(seed.text, "kvSeed", seed.path, problems);
}

/** The stack config as typed values, or every problem with it; one pass, so a user fixes their config at once. */
export function parseStack(settings: StackSettings): ParsedStack {
    const problems: string[] = [];
    const image = parseWith(
        settings.image,
        isImageReference,
        `image must be a Docker image reference such as hashicorp/consul:1.22.7, not ${show(settings.image)}`,
        problems,
    );
    const demoImage = parseWith(
        settings.demoImage,
        isImageReference,
        `demoImage must be a Docker image reference such as hashicorp/consul:1.22.7, not ${show(settings.demoImage)}`,
        problems,
    );
    const envoyImage = parseWith(
        settings.envoyImage,
        isImageReference,
        "envoyImage must be a Docker image reference such as consul-multi-dc/envoy:1.36.2-consul1.22.7, " +
            `not ${show(settings.envoyImage)}`,
        problems,
    );
    // Never echoes the key itself: it is a secret.
    const key =
        settings.gossipKey === undefined
            ? undefined
            : parseWith(
                  settings.gossipKey,
                  isGossipKey,
                  "gossipKey must be base64 of 16, 24 or 32 bytes (as `consul keygen` prints); the value given is not",
                  problems,
              );
    const publishAddress = parseWith(
        settings.publishAddress,
        isIpv4Address,
        `publishAddress must be an IPv4 address such as 127.0.0.1, not ${show(settings.publishAddress)}`,
        problems,
    );
    const prefix = parseWith(
        settings.namePrefix,
        isNamePrefix,
        'namePrefix must be empty or start with a letter or digit followed by letters, digits, "_", "." or "-", ' +
            `not ${show(settings.namePrefix)}`,
        problems,
    );
    const flag = (name: "keepData" | "dnsAnonymousRead" | "failoverQueries") =>
        parseWith(settings[name], isBoolean, `${name} must be true or false, not ${show(settings[name])}`, problems);
    const keepData = flag("keepData");
    const dnsAnonymousRead = flag("dnsAnonymousRead");
    const failoverQueries = flag("failoverQueries");
    const baseConfig = parseBaseConfig(settings, problems);
    const kvSeed = parseSeed(settings, problems);
    if (keepData && !settings.gossipKey) {
        problems.push(
            "keepData: kept volumes hold the agents' gossip keyring, so the next stack must use the same key. " +
                "Set one first: " +
                'pulumi config set --secret gossipKey "$(consul keygen)" (or 32 random bytes, base64).',
        );
    }
    const wanSubnet = cidr("wanSubnet", settings.wanSubnet, problems);
    const raw: unknown = settings.datacenters;
    if (!Array.isArray(raw) || raw.length === 0) {
        problems.push("datacenters must be a list of at least one datacenter; the first is the primary");
        return { problems };
    }
    const acrossHosts = spansHosts(raw.map((dc: unknown) => ({ endpoint: isRecord(dc) ? dc.dockerHost : undefined })));
    const drafts = raw.map((dc: unknown, i) =>
        parseDatacenter(dc, `datacenters[${i}]`, settings, acrossHosts, problems),
    );
    const gateways = settings.mesh === true && settings.meshGateways !== false;
    problems.push(...acrossDatacenters(drafts, wanSubnet, prefix ?? "", gateways));
    const datacenters = drafts.flatMap((dc) => complete(dc) ?? []);
    const mesh = parseMesh(settings, datacenters, problems);
    const hostAddresses = datacenters.flatMap((dc) => dc.host.address ?? []);
    if (
        problems.length > 0 ||
        image === undefined ||
        demoImage === undefined ||
        envoyImage === undefined ||
        publishAddress === undefined ||
        prefix === undefined ||
        keepData === undefined ||
        dnsAnonymousRead === undefined ||
        failoverQueries === undefined ||
        baseConfig === undefined ||
        kvSeed === undefined ||
        wanSubnet === undefined ||
        datacenters.length < drafts.length ||
        (acrossHosts && hostAddresses.length < datacenters.length)
    ) {
        return { problems };
    }
    return {
        problems: [],
        config: {
            image,
            demoImage,
            envoyImage,
            wanSubnet,
            publishAddress,
            namePrefix: prefix,
            keepData,
            dnsAnonymousRead,
            failoverQueries,
            ...(mesh !== undefined ? { mesh } : {}),
            kvSeed,
            baseConfig,
            datacenters,
            ...(key !== undefined ? { gossipKey: key } : {}),
            ...(acrossHosts ? { hostAddresses } : {}),
        },
    };
}
