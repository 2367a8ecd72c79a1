// What runs now, as the Docker host's networks list it, and the config changes that a running cluster cannot
// take in one `pulumi up`. resources/running-cluster.ts reads the networks, so such a change is refused at preview, before any
// datacenter is touched. Pure: no Pulumi, no I/O.
import { cidrsOverlap, Ipv4Cidr, parseCidr, parseIpv4 } from "./cidr";
import { Federation } from "./settings";
import { StackModel } from "./stack-model";

/** A server container that runs now. */
export interface RunningServer {
    readonly name: string;
    readonly datacenter: string;
    /** 1-based, from its name: 2 for dc1-server2. */
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
export function runningLan(network: { readonly ipamConfigs: readonly { readonly subnet?: string }[]; readonly options?: Readonly<Record<string, string>> } | undefined): RunningLan {
    return network ? { subnet: network.ipamConfigs[0]?.subnet, federation: network.options?.[federationOption] === "peering" ? "peering" : "wan" } : {};
}

export interface RunningDatacenter extends RunningLan {
    readonly name: string;
    /** By ordinal. A stopped server is not among them: it holds no address, and after `consul leave` no vote. */
    readonly servers: readonly RunningServer[];
}

export interface RunningShape {
    /**
     * The datacenter whose servers hold the lowest WAN addresses: they are assigned in config order.
     * Undefined across Docker hosts, whose networks do not say which datacenter is the primary.
     */
    readonly primaryDatacenter?: string;
    readonly datacenters: readonly RunningDatacenter[];
}

export interface ShapeChange {
    /** Each names the config key, why the running cluster cannot take the change, and the safe way. */
    readonly problems: string[];
    readonly warnings: string[];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The datacenter and ordinal in a server's container name (dc1-server2: dc1, 2); undefined for any other name. */
export function serverOf(containerName: string, namePrefix: string): { datacenter: string; ordinal: number } | undefined {
    const match = new RegExp(`^${escapeRegExp(namePrefix)}([a-z0-9_-]+)-server([1-9][0-9]*)$`).exec(containerName);
    return match ? { datacenter: match[1], ordinal: Number(match[2]) } : undefined;
}

/** The datacenters with a server on the WAN network, whose LAN networks runningShape wants the subnets of. */
export function runningDatacenters(wanContainers: readonly { readonly name: string }[], namePrefix: string): string[] {
    return [...new Set(wanContainers.flatMap((c) => serverOf(c.name, namePrefix)?.datacenter ?? []))];
}

/**
 * What runs now: the server containers on the WAN network (Docker lists an address as "10.201.0.11/24") and
 * what each of their datacenters' LAN networks says. Undefined when no server runs.
 */
export function runningShape(
    wanContainers: readonly { readonly name: string; readonly ipv4Address: string }[],
    lans: Readonly<Record<string, RunningLan>>,
    namePrefix: string,
): RunningShape | undefined {
    const servers = wanContainers
        .flatMap((c) => {
            const server = serverOf(c.name, namePrefix);
            return server ? [{ name: c.name, ...server, wanAddress: c.ipv4Address.split("/")[0] }] : [];
        })
        .sort((a, b) => (parseIpv4(a.wanAddress) ?? 0) - (parseIpv4(b.wanAddress) ?? 0));
    if (servers.length === 0) {
        return undefined;
    }
    const names = [...new Set(servers.map((s) => s.datacenter))];
    return {
        primaryDatacenter: servers[0].datacenter,
        datacenters: names.map((name) => ({
            name,
            subnet: lans[name]?.subnet,
            ...(lans[name]?.federation ? { federation: lans[name].federation } : {}),
            servers: servers.filter((s) => s.datacenter === name).sort((a, b) => a.ordinal - b.ordinal),
        })),
    };
}

/**
 * What runs now across Docker hosts: the server containers on each datacenter's LAN network, as that
 * datacenter's own host lists them, and the network's subnet. Undefined when no server runs.
 */
export function runningShapeAcrossHosts(
    lans: Readonly<Record<string, RunningLan & { readonly containers: readonly { readonly name: string }[] }>>,
    namePrefix: string,
): RunningShape | undefined {
    const datacenters = Object.entries(lans).flatMap(([name, lan]) => {
        const servers = lan.containers
            .flatMap((c) => {
                const server = serverOf(c.name, namePrefix);
                return server?.datacenter === name ? [{ name: c.name, ...server }] : [];
            })
            .sort((a, b) => a.ordinal - b.ordinal);
        return servers.length > 0 ? [{ name, subnet: lan.subnet, ...(lan.federation ? { federation: lan.federation } : {}), servers }] : [];
    });
    return datacenters.length > 0 ? { datacenters } : undefined;
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
    if (running.primaryDatacenter !== undefined && running.primaryDatacenter !== plan.primaryDatacenter) {
        problems.push(
            `datacenters[0].name: the running federation's primary datacenter is ${running.primaryDatacenter}. It holds the ACLs ` +
                "the other datacenters replicate and every agent names it as primary_datacenter, which Consul cannot move under " +
                `a running federation. Keep ${running.primaryDatacenter} first (new datacenters go after it). To make ` +
                `${plan.primaryDatacenter} the primary, start anew: \`pulumi destroy\` with keepData off, then \`pulumi up\` ` +
                `(\`scripts/snapshot.sh save\` keeps ${running.primaryDatacenter}'s KV and ACLs first).`,
        );
    }

    const runningByName = new Map(running.datacenters.map((dc) => [dc.name, dc]));
    const removed = running.datacenters.filter((dc) => !plan.datacenters.some((d) => d.name === dc.name));
    plan.datacenters.forEach((dc, i) => {
        const now = runningByName.get(dc.name);
        if (!now) {
            const taken = removed.find((r) => r.subnet && cidrsOverlap(parseCidr(r.subnet) as Ipv4Cidr, dc.subnet));
            if (taken) {
                problems.push(
                    `datacenters[${i}].subnet: ${dc.name} takes ${dc.subnet.text}, which overlaps ${taken.subnet} of ${taken.name}, a ` +
                        `datacenter this update removes. Pulumi deletes ${taken.name}'s network only at the end of the update, after ` +
                        `creating ${dc.name}'s, and Docker refuses overlapping networks. Remove ${taken.name} in one \`pulumi up\`, ` +
                        `then add ${dc.name} in the next.`,
                );
            }
            return;
        }
        if (now.subnet !== undefined && now.subnet !== dc.subnet.text) {
            problems.push(
                `datacenters[${i}].subnet: ${dc.name} runs on ${now.subnet}. Another subnet replaces its LAN network and gives ` +
                    "every agent a new address at once, while Raft knows each server by its address (Consul's outage guide has " +
                    `a rebuilt server keep its old IP), so ${dc.name}'s servers could not form a quorum again. A running ` +
                    "datacenter keeps its subnet: " +
                    (i === 0
                        ? `${dc.name} is the primary, so \`pulumi destroy\` first to move it.`
                        : `to move ${dc.name}, remove it in one \`pulumi up\` and add it back in the next (its own data goes with it).`),
            );
        }
        if (now.federation !== undefined && now.federation !== dc.federation) {
            problems.push(federationSwitch(dc.name, now.federation, dc.federation, i));
        }
        problems.push(...quorumProblems(now, dc.servers.length, `datacenters[${i}].servers`, warnings));
    });
    for (const dc of removed) {
        warnings.push(
            `datacenters: ${dc.name} is no longer in the config, so this update deletes its agents and their data volumes ` +
                "(unless keepData). Its servers stay in the WAN pool as failed members until Consul reaps them (72 h), or " +
                `\`consul force-leave -prune -wan <server>.${dc.name}\`.`,
        );
    }
    problems.push(...wanConflicts(running, plan));
    return { problems, warnings };
}

/** Consul cannot move a datacenter between a federation and a cluster of its own while it runs. */
function federationSwitch(name: string, from: Federation, to: Federation, i: number): string {
    const what = (f: Federation) => (f === "wan" ? "a WAN datacenter, which replicates the primary's ACLs" : "a cluster of its own, with its own primary and ACLs");
    return (
        `datacenters[${i}].federation: ${name} runs as ${what(from)}, and the config makes it ${what(to)}. Its servers' Raft data ` +
        "holds the ACLs and the primary they were formed with, which Consul cannot change under a running datacenter. To switch, " +
        `remove ${name} from datacenters in one \`pulumi up\` (its data goes with it: save what you need first, e.g. with ` +
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
            `${key}: ${now.name} goes from ${voters} to ${servers} servers; the removed ones stay Raft voters until autopilot ` +
                `prunes them. Before lowering it again, wait until ${listPeers(now.name)} shows ${servers}.`,
        );
        return [];
    }
    const steps = shrinkSteps(voters, servers);
    const reached = steps[steps.length - 1] ?? voters;
    const stopped = voters - now.servers.length;
    const sentences = [
        `${key}: ${now.name} has ${voters} servers, all Raft voters${stopped > 0 ? `, ${stopped} of them stopped` : ""}.`,
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
        sentences.push(reached > servers ? `To go from ${reached} to ${servers}, ${leaveFirst}.` : `Or, to go to ${servers} at once, ${leaveFirst}.`);
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
    const runningServers = running.datacenters.flatMap((dc) => dc.servers).filter((s) => s.wanAddress !== undefined);
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
            const holder = holders.get(server.wanAddress as string);
            if (was?.wanAddress === server.wanAddress || !holder || holder.name === server.name) {
                continue;
            }
            const verb = was ? `${server.name} would move to ${server.wanAddress}` : `${server.name} would start on ${server.wanAddress}`;
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
                    `${verb}, which ${holder.name} holds until its own replacement, while a new datacenter starts all its servers at once`,
                    `Add ${dc.name} after the datacenters that run.`,
                );
            } else if (was && (holder.datacenter !== server.datacenter || holder.ordinal > server.ordinal)) {
                const cause = shiftCause(running, plan, i);
                add(cause.key, `${verb}, which ${holder.name} holds until its own replacement, later or in parallel`, cause.safe);
            }
        }
    });
    return [...byKey].map(
        ([key, { conflicts, safe }]) =>
            `${key}: WAN addresses run on across datacenters in config order, so this change moves servers onto addresses ` +
            `still in use: ${conflicts.join("; ")}. Docker refuses an address in use, so the update would stop part-way. ${safe}`,
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
                safe: `Grow ${dc.name} by at least ${after} servers at once (as many as the datacenters after it have), so that every moved address lands on a free one, or not at all.`,
            };
        }
        if (servers > dc.servers.length) {
            return {
                key: `datacenters[${k}].servers`,
                safe: `There is no safe way to shrink ${dc.name} in place while more than one datacenter follows it: WAN addresses follow the config order.`,
            };
        }
    }
    return { key: "datacenters", safe: "Keep the order of the datacenters that run." };
}
