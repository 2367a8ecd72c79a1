// The service mesh: the `mesh`, `meshGateways` and `intentions` stack keys, checked against the datacenters
// and their services, and where each datacenter's mesh gateway sits. Pure: no Pulumi, no Docker.
import { hostAddress, type Ipv4Cidr } from "./cidr";
import { intentionConfigKeys } from "./config-keys";
import { isBoolean, isRecord, parseWith, show, unknownKeyProblems } from "./describe";
import { instanceOffset, maxInstances } from "./lan-layout";
import { sidecarPorts } from "./mesh-ports";
import type { ServiceConfig } from "./services";

/** What an intention does with the calls it matches. */
export type IntentionAction = "allow" | "deny";
export const intentionActions: readonly IntentionAction[] = ["allow", "deny"];

/** One entry of the `intentions` stack config. */
export interface IntentionSettings {
    readonly source: string;
    readonly destination: string;
    /** "allow" unless set. */
    readonly action?: IntentionAction;
}

export interface Intention {
    readonly source: string;
    readonly destination: string;
    readonly action: IntentionAction;
}

/** The mesh, when the stack turns it on. */
export interface MeshConfig {
    readonly gateways: boolean;
    readonly intentions: readonly Intention[];
}

/** A datacenter's mesh gateway: its own container on the datacenter's LAN. */
export interface MeshGatewayModel {
    /** Container name and Consul service ID, e.g. dc1-mesh-gateway. */
    readonly id: string;
    readonly lanAddress: string;
    /** Where the other datacenters' gateways reach it: on the WAN network, or its host's address and port. */
    readonly wan: { readonly address: string; readonly port: number };
    /** Across hosts only: the host port it publishes on its host's address. */
    readonly hostPort?: number;
}

/** The Consul service every datacenter's mesh gateway registers as. */
export const meshGatewayService = "mesh-gateway";

/**
 * The gateway's fixed LAN address: .254, above the demo service instances (.201 to .250) and the addresses the
 * cluster tier's probe containers take (.251 to .253).
 */
export const gatewayLanAddress = (subnet: Ipv4Cidr): string => hostAddress(subnet, instanceOffset + maxInstances + 4);

/** The `i`-th datacenter's gateway on the WAN network: from the top of the subnet down, clear of the servers. */
export const gatewayWanAddress = (wan: Ipv4Cidr, i: number): string => hostAddress(wan, 2 ** (32 - wan.prefix) - 2 - i);

/** The datacenters as far as the mesh cares. */
interface MeshDatacenter {
    readonly name: string;
    readonly federation: "wan" | "peering";
    readonly clients: number;
    readonly services: readonly ServiceConfig[];
}

const isAction = (value: unknown): value is IntentionAction => intentionActions.some((a) => a === value);

function parseIntentions(raw: unknown, known: ReadonlySet<string>, problems: string[]): Intention[] | undefined {
    if (raw === undefined) {
        return [];
    }
    if (!Array.isArray(raw)) {
        problems.push(`intentions must be a list of { source, destination, action }, not ${show(raw)}`);
        return undefined;
    }
    const before = problems.length;
    const knownList = [...known].sort().join(", ") || "none";
    const seen = new Map<string, number>();
    const intentions = raw.flatMap((entry: unknown, i): Intention[] => {
        const k = `intentions[${i}]`;
        if (!isRecord(entry)) {
            problems.push(`${k} must be an object with ${intentionConfigKeys.join(", ")}, not ${show(entry)}`);
            return [];
        }
        problems.push(...unknownKeyProblems(entry, intentionConfigKeys, k, "an intention"));
        const service = (field: "source" | "destination") =>
            parseWith(
                entry[field],
                (v: unknown): v is string => typeof v === "string" && known.has(v),
                `${k}.${field} must name a demo service in the mesh (${knownList}), not ${show(entry[field])}`,
                problems,
            );
        const source = service("source");
        const destination = service("destination");
        const action =
            entry.action === undefined
                ? "allow"
                : parseWith(
                      entry.action,
                      isAction,
                      `${k}.action must be ${intentionActions.map((a) => `"${a}"`).join(" or ")}, ` +
                          `not ${show(entry.action)}`,
                      problems,
                  );
        if (source === undefined || destination === undefined || action === undefined) {
            return [];
        }
        const pair = `${source} → ${destination}`;
        const first = seen.get(pair);
        if (first !== undefined) {
            problems.push(`${k} repeats intentions[${first}] (${pair}); each source and destination pair once`);
            return [];
        }
        seen.set(pair, i);
        return [{ source, destination, action }];
    });
    return problems.length === before ? intentions : undefined;
}

/**
 * The mesh keys, checked against the datacenters: undefined when the mesh is off (then no service may name
 * an upstream, and no intention may be given), or its config; every problem among `problems`.
 */
export function parseMesh(
    settings: { readonly mesh: unknown; readonly meshGateways: unknown; readonly intentions?: unknown },
    datacenters: readonly MeshDatacenter[],
    problems: string[],
): MeshConfig | undefined {
    const mesh = parseWith(
        settings.mesh,
        isBoolean,
        `mesh must be true or false, not ${show(settings.mesh)}`,
        problems,
    );
    const gateways = parseWith(
        settings.meshGateways,
        isBoolean,
        `meshGateways must be true or false, not ${show(settings.meshGateways)}`,
        problems,
    );
    const services = datacenters.flatMap((dc, i) =>
        dc.services.map((s, j) => ({ ...s, key: `datacenters[${i}].services[${j}]`, dc })),
    );
    // The mesh spans the WAN federation; a peering datacenter, a cluster of its own, stays outside it.
    const meshed = services.filter((s) => s.dc.federation === "wan");
    if (!mesh) {
        const withUpstream = services.filter((s) => s.upstream !== undefined);
        problems.push(
            ...withUpstream.map((s) => `${s.key}.upstream needs the service mesh: set mesh to true, or remove it`),
        );
        if (Array.isArray(settings.intentions) && settings.intentions.length > 0) {
            problems.push("intentions need the service mesh: set mesh to true, or remove them");
        }
        return undefined;
    }
    const wanDatacenters = datacenters.filter((dc) => dc.federation === "wan");
    if (gateways === false && wanDatacenters.length > 1) {
        problems.push(
            "meshGateways: a mesh across datacenters needs a mesh gateway in each (their LANs cannot reach " +
                "each other's sidecars): set it to true, or keep one datacenter",
        );
    }
    datacenters.forEach((dc, i) => {
        if (gateways !== false && dc.clients === 0 && dc.federation === "wan") {
            problems.push(
                `datacenters[${i}].clients: the mesh gateway of ${dc.name} registers on a client agent, ` +
                    "and it has none; " +
                    "give it one",
            );
        }
    });
    for (const s of services.filter((s) => s.dc.federation === "peering" && s.upstream !== undefined)) {
        problems.push(
            `${s.key}.upstream: the mesh spans the WAN federation, and ${s.dc.name} peers instead; ` +
                "its services stay outside the mesh",
        );
    }
    const known = new Set(meshed.map((s) => s.name));
    for (const s of meshed.filter((s) => s.name === meshGatewayService && gateways !== false)) {
        problems.push(`${s.key}.name "${meshGatewayService}" is the mesh gateways' service; choose another name`);
    }
    for (const s of meshed) {
        if (s.upstream !== undefined && !known.has(s.upstream)) {
            problems.push(
                `${s.key}.upstream must name a demo service in the mesh (${[...known].sort().join(", ")}), ` +
                    `not ${show(s.upstream)}`,
            );
        }
        if (sidecarPorts.includes(s.port)) {
            problems.push(
                `${s.key}.port ${s.port} is one its sidecar listens on (${sidecarPorts.join(", ")}); choose another`,
            );
        }
    }
    const intentions = parseIntentions(settings.intentions, known, problems);
    return gateways !== undefined && intentions !== undefined ? { gateways, intentions } : undefined;
}
