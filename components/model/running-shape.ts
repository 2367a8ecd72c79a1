// What runs now, as the Docker host's networks list it, and the config changes that a running cluster cannot
// take in one `pulumi up`. resources/running-cluster.ts reads the networks, so such a change is refused at preview,
// before any datacenter is touched. Nothing here reads a container's name for what it means: a server is known by the
// LAN network that holds it (one the model names) and its address there (lan-layout.ts). Pure: no Pulumi, no I/O.
import { hostOffset, parseCidr } from "./cidr";
import { agentAt } from "./lan-layout";
import { gatewayLanAddress } from "./mesh";
import type { Federation } from "./settings";
import type { StackModel } from "./stack-model";

/** A container on a Docker network, as docker.getNetwork lists it: its address with the prefix, "10.201.1.11/24". */
export interface NetworkContainer {
    readonly name: string;
    readonly ipv4Address: string;
}

/** A Docker network as docker.getNetwork reads it: options, not labels. */
export interface NetworkRead {
    readonly ipamConfigs: readonly { readonly subnet?: string }[];
    readonly options?: Readonly<Record<string, string>>;
    readonly containers: readonly NetworkContainer[];
}

/** A server container that runs now. */
export interface RunningServer {
    readonly name: string;
    readonly datacenter: string;
    /** 1-based, from its LAN address: 2 for the server at .12. */
    readonly ordinal: number;
    /** Its address on the WAN network; undefined across Docker hosts, where there is none. */
    readonly wanAddress?: string;
}

/** What a running datacenter's LAN network says; each unknown when the network could not be read. */
export interface RunningLan {
    readonly subnet?: string;
    readonly federation?: Federation;
}

/** The LAN network option that marks a peering datacenter (consul-datacenter.ts sets it). */
export const federationOption = "io.consul-multi-dc.federation";

/**
 * What a datacenter's LAN network says, as Docker's network data source reads it (options, not labels):
 * its subnet, and "peering" when marked, else "wan". Nothing when there is no such network.
 */
export function runningLan(network: Pick<NetworkRead, "ipamConfigs" | "options"> | undefined): RunningLan {
    return network
        ? {
              subnet: network.ipamConfigs?.[0]?.subnet,
              federation: network.options?.[federationOption] === "peering" ? "peering" : "wan",
          }
        : {};
}

export interface RunningDatacenter extends RunningLan {
    readonly name: string;
    /** By ordinal. A stopped server is not among them: it holds no address, and after `consul leave` no vote. */
    readonly servers: readonly RunningServer[];
}

export interface RunningShape {
    /**
     * One host only: the server that holds the lowest WAN address, which the first datacenter's first server
     * takes (they are assigned in config order), and its datacenter, unless that is not in the config.
     */
    readonly primary?: { readonly server: string; readonly datacenter?: string };
    /** The config's datacenters whose servers run. */
    readonly datacenters: readonly RunningDatacenter[];
    /**
     * One host only: servers on the WAN network that no LAN network of the config's datacenters holds, by
     * WAN address: the servers of a datacenter the config removed or renamed.
     */
    readonly unknownServers: readonly { readonly name: string; readonly wanAddress: string }[];
}

export interface ShapeChange {
    /** Each names the config key, why the running cluster cannot take the change, and the safe way. */
    readonly problems: string[];
    readonly warnings: string[];
}

/** The servers on a datacenter's LAN network: the containers at the servers' addresses, by ordinal. */
function serversOn(
    datacenter: string,
    lan: NetworkRead,
): { readonly name: string; readonly datacenter: string; readonly ordinal: number }[] {
    const subnet = parseCidr(lan.ipamConfigs?.[0]?.subnet);
    if (typeof subnet === "string") {
        return [];
    }
    return lan.containers
        .flatMap((c) => {
            const agent = agentAt(subnet, c.ipv4Address);
            return agent?.role === "server" ? [{ name: c.name, datacenter, ordinal: agent.ordinal }] : [];
        })
        .sort((a, b) => a.ordinal - b.ordinal);
}

/** The mesh gateway on a datacenter's LAN (at its fixed address): on the WAN network too, but not a server. */
function gatewaysOn(lan: NetworkRead): string[] {
    const subnet = parseCidr(lan.ipamConfigs?.[0]?.subnet);
    return typeof subnet === "string"
        ? []
        : lan.containers.filter((c) => c.ipv4Address.split("/")[0] === gatewayLanAddress(subnet)).map((c) => c.name);
}

/**
 * What runs now: each datacenter of the config whose LAN network exists (`lans`, by datacenter name, as
 * Docker reads them on the datacenter's own host) and, when the datacenters share one host, the WAN
 * network (`wan`). Undefined when no server runs.
 */
export function runningShape(
    lans: Readonly<Record<string, NetworkRead | undefined>>,
    wan?: NetworkRead,
): RunningShape | undefined {
    const wanSubnet = parseCidr(wan?.ipamConfigs?.[0]?.subnet);
    const wanPosition = (address: string) =>
        typeof wanSubnet === "string" ? 0 : (hostOffset(wanSubnet, address) ?? 0);
    const gateways = new Set(Object.values(lans).flatMap((lan) => (lan ? gatewaysOn(lan) : [])));
    const onWan = (wan?.containers ?? [])
        .filter((c) => !gateways.has(c.name))
        .map((c) => ({ name: c.name, wanAddress: c.ipv4Address.split("/")[0] }))
        .sort((a, b) => wanPosition(a.wanAddress) - wanPosition(b.wanAddress));
    const wanAddress = new Map(onWan.map((s) => [s.name, s.wanAddress]));
    const datacenters = Object.entries(lans).flatMap(([name, lan]): RunningDatacenter[] => {
        const servers = lan ? serversOn(name, lan) : [];
        return lan && servers.length > 0
            ? [
                  {
                      name,
                      ...runningLan(lan),
                      servers: servers.map((s) => ({
                          ...s,
                          ...(wanAddress.has(s.name) ? { wanAddress: wanAddress.get(s.name) } : {}),
                      })),
                  },
              ]
            : [];
    });
    const datacenterOf = new Map(datacenters.flatMap((dc) => dc.servers.map((s) => [s.name, dc.name])));
    const unknownServers = onWan.filter((s) => !datacenterOf.has(s.name));
    if (datacenters.length === 0 && unknownServers.length === 0) {
        return undefined;
    }
    const first = onWan[0]?.name;
    const primaryDatacenter = first === undefined ? undefined : datacenterOf.get(first);
    return {
        ...(first !== undefined
            ? {
                  primary: {
                      server: first,
                      ...(primaryDatacenter !== undefined ? { datacenter: primaryDatacenter } : {}),
                  },
              }
            : {}),
        datacenters,
        unknownServers,
    };
}

const quorum = (voters: number) => Math.floor(voters / 2) + 1;

/**
 * The server counts to pass through on the way from `voters` down to `target`, each a quorum of the count
 * before it. It stops short of `target` at 2: one removed server of two is half the voters.
 */
export function shrinkSteps(voters: number, target: number): number[] {
    const steps: number[] = [];
    for (let n = voters; n > target; ) {
        const next = Math.max(target, quorum(n));
        if (next === n) {
            break;
        }
        steps.push(next);
        n = next;
    }
    return steps;
}

const listPeers = (dc: string) => `\`consul operator raft list-peers\` in ${dc}`;
// Docker's restart policy would start a server again after `consul leave`, so the policy goes first.
const leaveFirst =
    "make each server to remove leave Raft and stay stopped first (`docker update --restart=no <server>`, then " +
    "`consul leave` in it): the check counts only servers that run";

/** Problems with going from what runs now (`running`, undefined when nothing does) to `plan`. */
export function shapeChangeProblems(running: RunningShape | undefined, plan: StackModel): ShapeChange {
    const problems: string[] = [];
    const warnings: string[] = [];
    if (!running) {
        return { problems, warnings };
    }
    const primary = running.primary;
    if (primary && primary.datacenter !== plan.primaryDatacenter) {
        const name = primary.datacenter;
        const which = name ?? `the one of ${primary.server}, which the config no longer has`;
        problems.push(
            `datacenters[0].name: the running federation's primary datacenter is ${which}. ` +
                "It holds the ACLs the other datacenters replicate and every agent names it as primary_datacenter, " +
                "which Consul cannot move under a running federation. " +
                `Keep ${name ?? "it, under its name,"} first (new datacenters go after it). To make ` +
                `${plan.primaryDatacenter} the primary, start anew: ` +
                "`pulumi destroy` with keepData off, then `pulumi up` " +
                `(\`scripts/snapshot.sh save\` keeps ${name ? `${name}'s` : "its"} KV and ACLs first).`,
        );
    }

    const runningByName = new Map(running.datacenters.map((dc) => [dc.name, dc]));
    plan.datacenters.forEach((dc, i) => {
        const now = runningByName.get(dc.name);
        if (!now) {
            return;
        }
        if (now.subnet !== undefined && now.subnet !== dc.subnet.text) {
            problems.push(
                `datacenters[${i}].subnet: ${dc.name} runs on ${now.subnet}. ` +
                    "Another subnet replaces its LAN network and gives every agent a new address at once, " +
                    "while Raft knows each server by its address (Consul's outage guide has " +
                    `a rebuilt server keep its old IP), so ${dc.name}'s servers could not form a quorum again. ` +
                    "A running " +
                    "datacenter keeps its subnet: " +
                    (i === 0
                        ? `${dc.name} is the primary, so \`pulumi destroy\` first to move it.`
                        : `to move ${dc.name}, remove it in one \`pulumi up\` ` +
                          "and add it back in the next (its own data goes with it)."),
            );
        }
        if (now.federation !== undefined && now.federation !== dc.federation) {
            problems.push(federationSwitch(dc.name, now.federation, dc.federation, i));
        }
        problems.push(...quorumProblems(now, dc.servers.length, `datacenters[${i}].servers`, warnings));
    });
    if (running.unknownServers.length > 0) {
        const servers = running.unknownServers.map((s) => s.name).join(", ");
        warnings.push(
            `datacenters: the servers ${servers} run on the WAN network, and no datacenter of the config has them: ` +
                "their datacenter is no longer in the config (removed or renamed), so this update deletes its agents " +
                "and their data volumes (unless keepData). Its servers stay in the WAN pool as failed members until " +
                "Consul reaps them (72 h), " +
                "or `consul force-leave -prune -wan <server>.<datacenter>`.",
        );
    }
    problems.push(...wanConflicts(running, plan));
    return { problems, warnings };
}

/** Consul cannot move a datacenter between a federation and a cluster of its own while it runs. */
function federationSwitch(name: string, from: Federation, to: Federation, i: number): string {
    const what = (f: Federation) =>
        f === "wan"
            ? "a WAN datacenter, which replicates the primary's ACLs"
            : "a cluster of its own, with its own primary and ACLs";
    return (
        `datacenters[${i}].federation: ${name} runs as ${what(from)}, and the config makes it ${what(to)}. ` +
        "Its servers' Raft data holds the ACLs and the primary they were formed with, which Consul cannot change " +
        `under a running datacenter. To switch, remove ${name} from datacenters in one \`pulumi up\` ` +
        "(its data goes with it: save what you need first, e.g. with " +
        `\`consul kv export\`), then add it back with federation "${to}" in the next.`
    );
}

/**
 * A server stopped without `consul leave` is still a voter, so every ordinal up to the highest that runs
 * counts as one. Servers removed by the config stop without leaving, so they stay voters too, until
 * autopilot prunes them, which it does only while the others keep a quorum.
 */
function quorumProblems(now: RunningDatacenter, servers: number, key: string, warnings: string[]): string[] {
    const voters = Math.max(...now.servers.map((s) => s.ordinal));
    if (servers >= voters) {
        return [];
    }
    const kept = now.servers.filter((s) => s.ordinal <= servers).length;
    if (kept >= quorum(voters)) {
        // The next `pulumi up` counts the servers that run, not the voters autopilot has yet to prune.
        warnings.push(
            `${key}: ${now.name} goes from ${voters} to ${servers} servers; ` +
                "the removed ones stay Raft voters until autopilot " +
                `prunes them. Before lowering it again, wait until ${listPeers(now.name)} shows ${servers}.`,
        );
        return [];
    }
    const steps = shrinkSteps(voters, servers);
    const reached = steps[steps.length - 1] ?? voters;
    const stopped = voters - now.servers.length;
    const sentences = [
        `${key}: ${now.name} has ${voters} servers, ` +
            `all Raft voters${stopped > 0 ? `, ${stopped} of them stopped` : ""}.`,
        "A server does not leave Raft when it stops, so a removed server stays a voter until autopilot prunes it,",
        `and ${kept} running of ${voters} voters is below the quorum of ${quorum(voters)}: ${now.name} would stop.`,
    ];
    if (stopped > 0) {
        sentences.push(`Start the stopped servers again first, or to go to ${servers}, ${leaveFirst}.`);
    } else {
        if (steps.length > 0) {
            sentences.push(
                `Shrink in steps that keep a quorum, ${[voters, ...steps].join(" → ")}, with a \`pulumi up\` for each,`,
                `waiting until ${listPeers(now.name)} shows the smaller set before the next.`,
            );
        }
        sentences.push(
            reached > servers
                ? `To go from ${reached} to ${servers}, ${leaveFirst}.`
                : `Or, to go to ${servers} at once, ${leaveFirst}.`,
        );
    }
    return [sentences.join(" ")];
}

/**
 * A server that starts on a new WAN address finds it taken when a running server still holds it: Docker
 * refuses it and the update stops part-way. A holder still holds its address when the update deletes it
 * (Pulumi deletes last), when it is replaced after the server that needs its address (one at a time, in
 * order), or when a new datacenter starts all its servers at once. A new server of a running datacenter
 * starts only after its datacenter's rolling replacement, by when a holder in another datacenter has moved off.
 */
function wanConflicts(running: RunningShape, plan: StackModel): string[] {
    // Across hosts a server's WAN address is its host's, shared by design; servers that ran across hosts
    // hold no address on the WAN network.
    if (plan.acrossHosts) {
        return [];
    }
    const runningServers: { name: string; wanAddress?: string; datacenter?: string; ordinal?: number }[] = [
        ...running.datacenters.flatMap((dc) => dc.servers).filter((s) => s.wanAddress !== undefined),
        ...running.unknownServers,
    ];
    const holders = new Map(runningServers.map((s) => [s.wanAddress, s]));
    const before = new Map(runningServers.map((s) => [s.name, s]));
    const next = plan.datacenters;
    const nextNames = new Set(next.flatMap((dc) => dc.servers.map((s) => s.name)));
    const byKey = new Map<string, { conflicts: string[]; safe: string }>();
    const add = (key: string, conflict: string, safe: string) => {
        const entry = byKey.get(key) ?? { conflicts: [], safe };
        entry.conflicts.push(conflict);
        byKey.set(key, entry);
    };

    next.forEach((dc, i) => {
        for (const server of dc.servers) {
            const was = before.get(server.name);
            const holder = holders.get(server.wanAddress);
            if (was?.wanAddress === server.wanAddress || !holder || holder.name === server.name) {
                continue;
            }
            const verb = was
                ? `${server.name} would move to ${server.wanAddress}`
                : `${server.name} would start on ${server.wanAddress}`;
            if (!nextNames.has(holder.name)) {
                const h = plan.datacenters.findIndex((d) => d.name === holder.datacenter);
                add(
                    h >= 0 ? `datacenters[${h}].servers` : "datacenters",
                    `${verb}, which ${holder.name} holds until Pulumi deletes it, at the end of the update`,
                    `To remove servers that hold addresses others move to, ${leaveFirst}.`,
                );
            } else if (!running.datacenters.some((d) => d.name === dc.name)) {
                add(
                    `datacenters[${i}]`,
                    `${verb}, which ${holder.name} holds until its own replacement, ` +
                        "while a new datacenter starts all its servers at once",
                    `Add ${dc.name} after the datacenters that run.`,
                );
            } else if (was && (holder.datacenter !== server.datacenter || (holder.ordinal ?? 0) > server.ordinal)) {
                const cause = shiftCause(running, plan, i);
                add(
                    cause.key,
                    `${verb}, which ${holder.name} holds until its own replacement, later or in parallel`,
                    cause.safe,
                );
            }
        }
    });
    return [...byKey].map(
        ([key, { conflicts, safe }]) =>
            `${key}: WAN addresses run on across datacenters in config order, ` +
            "so this change moves servers onto addresses " +
            `still in use: ${conflicts.join("; ")}. ` +
            `Docker refuses an address in use, so the update would stop part-way. ${safe}`,
    );
}

/** The change before datacenter `i` that moves its servers' WAN addresses, and how to make it without. */
function shiftCause(running: RunningShape, plan: StackModel, i: number): { key: string; safe: string } {
    for (let k = 0; k < i; k++) {
        const dc = plan.datacenters[k];
        const now = running.datacenters.find((d) => d.name === dc.name);
        if (!now) {
            return { key: `datacenters[${k}]`, safe: `Add ${dc.name} after the datacenters that run.` };
        }
        const servers = Math.max(...now.servers.map((s) => s.ordinal));
        if (servers < dc.servers.length) {
            const after = plan.datacenters.slice(k + 1).reduce((n, d) => n + d.servers.length, 0);
            return {
                key: `datacenters[${k}].servers`,
                safe:
                    `Grow ${dc.name} by at least ${after} servers at once ` +
                    "(as many as the datacenters after it have), " +
                    "so that every moved address lands on a free one, or not at all.",
            };
        }
        if (servers > dc.servers.length) {
            return {
                key: `datacenters[${k}].servers`,
                safe:
                    `There is no safe way to shrink ${dc.name} in place while more than one datacenter follows it: ` +
                    "WAN addresses follow the config order.",
            };
        }
    }
    return { key: "datacenters", safe: "Keep the order of the datacenters that run." };
}
