// What the stack deployed last, as its own `deployedShape` output records it, and the config changes that a
// running cluster cannot take in one `pulumi up`. index.ts reads the record back through a stack reference to
// itself, so such a change is refused at preview, before any datacenter is touched. Pure: no Pulumi, no I/O.
import { cidrsOverlap, Ipv4Cidr, parseCidr } from "./cidr";
import { datacenterModel, DatacenterModel, StackPlan, wanAddressesInOrder } from "./topology";

export interface DeployedDatacenter {
    readonly name: string;
    readonly servers: number;
    readonly subnet: string;
    /** One per server, in order. Records older than this field had them in config order (wanAddressesInOrder). */
    readonly wanAddresses?: readonly string[];
}

export interface DeployedShape {
    /** The first datacenter: it holds the ACLs, and every agent names it as primary_datacenter. */
    readonly primaryDatacenter: string;
    /** Records older than this field cannot tell a change of prefix. */
    readonly namePrefix?: string;
    readonly datacenters: readonly DeployedDatacenter[];
}

export interface ShapeChange {
    /** Each names the config key, why the running cluster cannot take the change, and the safe way. */
    readonly problems: string[];
    readonly warnings: string[];
}

/** The record the next `pulumi up` compares its config with. */
export function deployedShape(plan: StackPlan, namePrefix: string): DeployedShape {
    return {
        primaryDatacenter: plan.primaryDatacenter,
        namePrefix,
        datacenters: plan.datacenters.map((dc) => ({ name: dc.name, servers: dc.servers, subnet: dc.subnet, wanAddresses: [...dc.wanAddresses] })),
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

const show = (value: unknown) => JSON.stringify(value) ?? String(value);
const listPeers = (dc: string) => `\`consul operator raft list-peers\` in ${dc}`;
// A server that has left Raft no longer counts towards the quorum, and a stopped container holds no address.
// Docker's restart policy would start it again after `consul leave`, so the policy goes first.
const leaveFirst =
    "make each server to remove leave Raft and stay stopped first (`docker update --restart=no <server>`, then " +
    "`consul leave` in it) and list them in serversThatLeft for that `pulumi up`";

/**
 * Problems with going from the deployed `previous` shape (undefined before the first `pulumi up`) to `plan`.
 * `serversThatLeft` is the stack config key of that name: servers the user has made leave Raft and stopped.
 */
export function shapeChangeProblems(
    previous: DeployedShape | undefined,
    plan: StackPlan,
    namePrefix: string,
    serversThatLeft: unknown,
): ShapeChange {
    const problems: string[] = [];
    const warnings: string[] = [];
    const validLeft = Array.isArray(serversThatLeft) && serversThatLeft.every((s) => typeof s === "string");
    if (serversThatLeft !== undefined && !validLeft) {
        problems.push(`serversThatLeft must be a list of server names such as ["dc1-server3"], not ${show(serversThatLeft)}`);
    }
    const left = new Set<string>(validLeft ? serversThatLeft : []);

    const nextModels = plan.datacenters.map((dc) => datacenterModel({ ...dc, primaryDatacenter: plan.primaryDatacenter, namePrefix }));
    const prefix = previous?.namePrefix ?? namePrefix;
    const fallbackWan = wanAddressesInOrder(parseCidr(plan.wan.subnet) as Ipv4Cidr, previous?.datacenters.map((dc) => dc.servers) ?? []);
    const prevModels = (previous?.datacenters ?? []).map((dc, k) =>
        datacenterModel({
            ...dc,
            clients: 0,
            primaryDatacenter: previous?.primaryDatacenter ?? "",
            wanAddresses: dc.wanAddresses ?? fallbackWan[k],
            namePrefix: prefix,
        }),
    );
    const nextServers = new Map(nextModels.flatMap((dc, i) => dc.servers.map((s) => [s.name, i] as const)));
    const prevServers = new Map(prevModels.flatMap((dc) => dc.servers.map((s) => [s.name, s] as const)));

    for (const name of left) {
        const i = nextServers.get(name);
        if (i !== undefined) {
            problems.push(
                `serversThatLeft lists ${name}, which datacenters[${i}] has in the config (servers: ${plan.datacenters[i].servers}). ` +
                    `Only a server the config removes can have left; a server that comes back is a voter again. ` +
                    `Take it off (\`pulumi config rm serversThatLeft\`), or lower datacenters[${i}].servers to remove it.`,
            );
        } else if (!prevServers.has(name)) {
            warnings.push(`serversThatLeft lists ${name}, which the deployed stack does not have; remove it: \`pulumi config rm serversThatLeft\``);
        }
    }
    if (!previous) {
        return { problems, warnings };
    }

    if (previous.namePrefix !== undefined && previous.namePrefix !== namePrefix) {
        problems.push(
            `namePrefix: the deployed stack's containers, networks and volumes are named with ${show(previous.namePrefix)}. ` +
                `Changing it to ${show(namePrefix)} replaces every one of them, so every agent would start again on an empty ` +
                `data volume (Raft log, KV and ACLs gone). Keep ${show(previous.namePrefix)}; for a cluster with another prefix use ` +
                "another stack (`pulumi stack init`), or `pulumi destroy` this one first.",
        );
    }
    if (previous.primaryDatacenter !== plan.primaryDatacenter) {
        problems.push(
            `datacenters[0].name: the deployed federation's primary datacenter is ${previous.primaryDatacenter}. It holds the ACLs ` +
                "the other datacenters replicate and every agent names it as primary_datacenter, which Consul cannot move under " +
                `a running federation. Keep ${previous.primaryDatacenter} first (new datacenters go after it). To make ` +
                `${plan.primaryDatacenter} the primary, start anew: \`pulumi destroy\` with keepData off, then \`pulumi up\` ` +
                `(\`scripts/snapshot.sh save\` keeps ${previous.primaryDatacenter}'s KV and ACLs first).`,
        );
    }

    const prevByName = new Map(previous.datacenters.map((dc) => [dc.name, dc]));
    const removed = previous.datacenters.filter((dc) => !plan.datacenters.some((d) => d.name === dc.name));
    plan.datacenters.forEach((dc, i) => {
        const before = prevByName.get(dc.name);
        if (!before) {
            const taken = removed.find((r) => cidrsOverlap(parseCidr(r.subnet) as Ipv4Cidr, parseCidr(dc.subnet) as Ipv4Cidr));
            if (taken) {
                problems.push(
                    `datacenters[${i}].subnet: ${dc.name} takes ${dc.subnet}, which overlaps ${taken.subnet} of ${taken.name}, a ` +
                        `datacenter this update removes. Pulumi deletes ${taken.name}'s network only at the end of the update, after ` +
                        `creating ${dc.name}'s, and Docker refuses overlapping networks. Remove ${taken.name} in one \`pulumi up\`, ` +
                        `then add ${dc.name} in the next.`,
                );
            }
            return;
        }
        if (before.subnet !== dc.subnet) {
            problems.push(
                `datacenters[${i}].subnet: ${dc.name} runs on ${before.subnet}. Another subnet replaces its LAN network and gives ` +
                    "every agent a new address at once, while Raft knows each server by its address (Consul's outage guide has " +
                    `a rebuilt server keep its old IP), so ${dc.name}'s servers could not form a quorum again. A deployed ` +
                    "datacenter keeps its subnet: " +
                    (i === 0
                        ? `${dc.name} is the primary, so \`pulumi destroy\` first to move it.`
                        : `to move ${dc.name}, remove it in one \`pulumi up\` and add it back in the next (its own data goes with it).`),
            );
        }
        if (dc.servers < before.servers) {
            const gone = prevModels[previous.datacenters.indexOf(before)].servers.filter((s) => s.ordinal > dc.servers);
            const leftCount = gone.filter((s) => left.has(s.name)).length;
            const voters = before.servers - leftCount;
            if (dc.servers < quorum(voters)) {
                const steps = shrinkSteps(voters, dc.servers);
                const reached = steps[steps.length - 1] ?? voters;
                problems.push(
                    [
                        `datacenters[${i}].servers: ${dc.name} runs ${before.servers} servers, ${leftCount > 0 ? `${voters} of them Raft voters` : "all Raft voters"}.`,
                        "A server does not leave Raft when it stops, so a removed server stays a voter until autopilot prunes it,",
                        `and ${dc.servers} of ${voters} voters is below the quorum of ${quorum(voters)}: ${dc.name} would stop.`,
                        ...(steps.length > 0
                            ? [
                                  `Shrink in steps that keep a quorum, ${[voters, ...steps].join(" → ")}, with a \`pulumi up\` for each,`,
                                  `waiting until ${listPeers(dc.name)} shows the smaller set before the next.`,
                              ]
                            : []),
                        ...(reached > dc.servers ? [`To go from ${reached} to ${dc.servers}, ${leaveFirst}.`] : []),
                    ].join(" "),
                );
            }
        }
    });
    for (const dc of removed) {
        warnings.push(
            `datacenters: ${dc.name} is no longer in the config, so this update deletes its agents and their data volumes ` +
                "(unless keepData). Its servers stay in the WAN pool as failed members until Consul reaps them (72 h), or " +
                `\`consul force-leave -prune -wan <server>.${dc.name}\`.`,
        );
    }

    if (previous.namePrefix === undefined || previous.namePrefix === namePrefix) {
        problems.push(...wanConflicts(previous, plan, prevModels, nextModels, left));
    }
    return { problems, warnings };
}

/**
 * A server that starts on a new WAN address finds it taken when a server of the deployed stack still holds it:
 * Docker refuses it and the update stops part-way. A holder still holds its address when the update deletes it
 * (Pulumi deletes last), when it is replaced after the server that needs its address (one at a time, in order),
 * or when a new datacenter starts all its servers at once. A new server of a deployed datacenter starts only
 * after its datacenter's rolling replacement, by when a holder in another datacenter has moved off.
 */
function wanConflicts(
    previous: DeployedShape,
    plan: StackPlan,
    prevModels: readonly DatacenterModel[],
    nextModels: readonly DatacenterModel[],
    left: ReadonlySet<string>,
): string[] {
    const holders = new Map(prevModels.flatMap((dc) => dc.servers.map((s) => [s.wanAddress, s] as const)));
    const prevByName = new Map(prevModels.flatMap((dc) => dc.servers.map((s) => [s.name, s] as const)));
    const nextNames = new Set(nextModels.flatMap((dc) => dc.servers.map((s) => s.name)));
    const deployed = new Set(previous.datacenters.map((dc) => dc.name));
    const byKey = new Map<string, { conflicts: string[]; safe: string }>();
    const add = (key: string, conflict: string, safe: string) => {
        const entry = byKey.get(key) ?? { conflicts: [], safe };
        entry.conflicts.push(conflict);
        byKey.set(key, entry);
    };

    nextModels.forEach((dc, i) => {
        for (const server of dc.servers) {
            const before = prevByName.get(server.name);
            const holder = holders.get(server.wanAddress);
            if (before?.wanAddress === server.wanAddress || !holder || holder.name === server.name || left.has(holder.name)) {
                continue;
            }
            const verb = before ? `${server.name} would move to ${server.wanAddress}` : `${server.name} would start on ${server.wanAddress}`;
            if (!nextNames.has(holder.name)) {
                const h = plan.datacenters.findIndex((d) => d.name === holder.datacenter);
                add(
                    h >= 0 ? `datacenters[${h}].servers` : "datacenters",
                    `${verb}, which ${holder.name} holds until Pulumi deletes it, at the end of the update`,
                    `To remove servers that hold addresses others move to, ${leaveFirst}.`,
                );
            } else if (!deployed.has(dc.name)) {
                add(
                    `datacenters[${i}]`,
                    `${verb}, which ${holder.name} holds until its own replacement, while a new datacenter starts all its servers at once`,
                    `Add ${dc.name} after the datacenters that run.`,
                );
            } else if (before && (holder.datacenter !== server.datacenter || holder.ordinal > server.ordinal)) {
                const cause = shiftCause(previous, plan, i);
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
function shiftCause(previous: DeployedShape, plan: StackPlan, i: number): { key: string; safe: string } {
    for (let k = 0; k < i; k++) {
        const dc = plan.datacenters[k];
        const before = previous.datacenters.find((d) => d.name === dc.name);
        if (!before) {
            return { key: `datacenters[${k}]`, safe: `Add ${dc.name} after the datacenters that run.` };
        }
        if (before.servers < dc.servers) {
            const after = plan.datacenters.slice(k + 1).reduce((n, d) => n + d.servers, 0);
            return {
                key: `datacenters[${k}].servers`,
                safe: `Grow ${dc.name} by at least ${after} servers at once (as many as the datacenters after it have), so that every moved address lands on a free one, or not at all.`,
            };
        }
        if (before.servers > dc.servers) {
            return {
                key: `datacenters[${k}].servers`,
                safe: `There is no safe way to shrink ${dc.name} in place while more than one datacenter follows it: WAN addresses follow the config order.`,
            };
        }
    }
    return { key: "datacenters", safe: "Keep the deployed order of the datacenters that run." };
}
