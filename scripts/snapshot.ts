// Backup and restore of every datacenter of a stack (KV, ACLs, catalog, config entries, sessions) with
// Consul's own `consul snapshot save` and `consul snapshot restore`, through each datacenter's leader
// on its own Docker host. Each datacenter keeps its own Raft state, a WAN one too (its catalog, the KV written
// there, the ACLs it replicates), so the file holds one snapshot per datacenter (snapshot-archive.ts).
//
//   scripts/snapshot.sh save FILE [--stack STACK]        npm run snapshot -- save FILE [--stack STACK]
//   scripts/snapshot.sh restore FILE [--stack STACK]     npm run snapshot -- restore FILE [--stack STACK]
//
// A restore replaces each datacenter's state with its snapshot's: KV, ACL tokens, the catalog and Consul's
// own Connect CA. It goes cluster by cluster (the first datacenter, or a peering one, with the WAN
// datacenters that replicate its ACLs), the cluster's first datacenter first. What that changes, and what
// this script does about each (docs/operations.md, Backup and restore):
// - Tokens: the snapshot's tokens come back; the stack's own (agents, replication, services, the app)
//   may not be in it, so the leader re-creates the management token as it takes office again, and the
//   cluster's acl-init runs again to create every other token of the stack that is missing; a WAN
//   datacenter restored after it replicates them from there.
// - Node IDs: the stack derives them from the node names, so the restored catalog lists each agent as
//   itself; an entry under another ID is removed and its agent restarted, to register again at once.
// - Certificates: the agents' own do not change: they come from the stack's own CA, which no snapshot
//   holds. A peered stack's servers also present a peering certificate of Connect's CA, which the restore
//   does replace: the acceptor's servers restart, and each peering is established again. In the mesh, the
//   agent that serves each datacenter's proxies restarts, so that they take the restored trust domain.
// It then checks every agent of every datacenter before it says so.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { AgentModel, DatacenterModel } from "../components/model/stack-model";
import { proxyAgent } from "../components/render/mesh";
import { activePeering, establishPeering } from "../components/resources/cluster-peering";
import { consulCall } from "../components/resources/consul-api";
import type { Run } from "./docker-cli";
import { leaderOf as leaderAddress } from "./project-stack";
import { sayer, within } from "./script-lib";
import {
    type HeldState,
    isSingleConsulSnapshot,
    manifestOf,
    type RestoreStep,
    readArchive,
    restorePlan,
    snapshotFileOf,
    writeArchive,
} from "./snapshot-archive";
import {
    deployed,
    managementToken,
    openStack,
    runMain,
    type StackAccess,
    StackError,
    type StackOutputs,
} from "./stack-access";

const usage = "usage: scripts/snapshot.sh save|restore FILE [--stack STACK]";
const say = sayer("snapshot");
/** Where the snapshot sits inside the server for a moment. */
const inside = "/tmp/consul-multi-dc.snap";
/** Where acl-init marks a finished run (components/resources/acl-bootstrap.ts). */
const aclInitDone = "/tmp/acl-init.done";

/** The stack, its outputs and the token of each datacenter's cluster. */
interface Target {
    readonly stack: StackAccess;
    readonly outputs: StackOutputs;
    readonly tokenOf: (dc: string) => string;
}

async function must(run: Promise<Run>, what: string): Promise<Run> {
    const done = await run;
    if (done.code !== 0) {
        throw new StackError(`${what} failed: ${done.stderr.trim()}`);
    }
    return done;
}

const names = (dcs: readonly { name: string }[]) => dcs.map((d) => d.name).join(", ");

/**
 * The datacenter's Raft leader, waited for through an election. Snapshots go to it directly: a follower
 * forwards them to the leader over TLS RPC, and Consul 1.22.7 then answers 500 ("connection reset by peer")
 * now and then, for a granted save as well as a refused one (docs/security.md).
 */
async function leaderOf(t: Target, dc: DatacenterModel): Promise<string> {
    let leader: string | undefined;
    const found = await within(30, async () => {
        const address = await leaderAddress(t.outputs.httpAddrs[dc.name], t.outputs.caCertPem);
        leader = dc.servers.find((s) => address?.startsWith(`${s.lanAddress}:`))?.name;
        return leader !== undefined;
    });
    if (!found || leader === undefined) {
        throw new StackError(
            `no server of ${dc.name} (${names(dc.servers)}) is its leader within 30 s; is the stack up?`,
        );
    }
    return leader;
}

async function save(t: Target, file: string): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-snapshot-"));
    const manifest = manifestOf(t.stack.name, t.stack.clusters, new Date());
    try {
        for (const held of manifest.datacenters) {
            const dc = held.name;
            const server = await leaderOf(t, t.stack.datacenter(dc));
            await must(
                t.stack.consul(dc, server, t.tokenOf(dc), ["snapshot", "save", inside]),
                `consul snapshot save in ${server}`,
            );
            const local = path.join(dir, held.file);
            await must(t.stack.docker(dc, ["cp", `${server}:${inside}`, local]), `docker cp of ${server}'s snapshot`);
            await t.stack.docker(dc, ["exec", server, "rm", "-f", inside]);
            say(`saved ${dc}'s state from ${server} (${fs.statSync(local).size} bytes).`);
        }
        writeArchive(file, dir, manifest);
        say(
            `wrote ${file} (${fs.statSync(file).size} bytes): a snapshot of each of ${names(manifest.datacenters)}, readable by you only.`,
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The agent's ID in its datacenter's catalog, asked through `server`; undefined when the catalog does not list it. */
async function catalogId(t: Target, dc: DatacenterModel, server: string, agent: string): Promise<string | undefined> {
    const nodes = await t.stack.consul(dc.name, server, t.tokenOf(dc.name), [
        "catalog",
        "nodes",
        "-detailed",
        "-datacenter",
        dc.name,
    ]);
    return nodes.stdout
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .find(([node]) => node === agent)?.[1];
}

/** The node ID the agent runs with: its data dir's, which may predate the stack's own (agent-start.sh). */
async function runningId(t: Target, dc: string, agent: string): Promise<string> {
    return (await t.stack.docker(dc, ["exec", agent, "cat", "/consul/data/node-id"])).stdout.trim();
}

async function listedAsItself(t: Target, dc: DatacenterModel, server: string, agent: string): Promise<boolean> {
    const id = await catalogId(t, dc, server, agent);
    return id !== undefined && id === (await runningId(t, dc.name, agent));
}

/**
 * The stack's agents have the node IDs their names give them (components/model/node-id.ts), so a snapshot of any
 * stack of this project lists them as themselves. One that lists a name under another ID (taken with an older
 * version of the project, say) makes the catalog refuse that agent: those entries go, and each such agent
 * restarts, one at a time so Raft keeps its quorum; the leader registers an agent as soon as it sees it join.
 */
async function removeStaleEntries(t: Target, dc: DatacenterModel, server: string): Promise<void> {
    const stale: AgentModel[] = [];
    for (const agent of [...dc.servers, ...dc.clients]) {
        const id = await catalogId(t, dc, server, agent.name);
        if (id !== undefined && id !== (await runningId(t, dc.name, agent.name))) {
            stale.push(agent);
        }
    }
    if (stale.length === 0) {
        return;
    }
    say(`the snapshot lists ${names(stale)} under other node IDs: removing those entries and restarting them.`);
    for (const agent of stale) {
        // Through the API: the consul CLI has no command for it.
        const answer = await consulCall(
            { httpAddr: t.outputs.httpAddrs[dc.name], caPem: t.outputs.caCertPem, token: t.tokenOf(dc.name) },
            "PUT",
            "/v1/catalog/deregister",
            JSON.stringify({ Node: agent.name }),
            5000,
        );
        if (answer.status !== 200) {
            throw new StackError(
                `could not remove ${agent.name}'s stale catalog entry: HTTP ${answer.status} ${answer.body.trim()}`,
            );
        }
    }
    for (const agent of stale) {
        await must(t.stack.docker(dc.name, ["restart", "--time", "30", agent.name]), `docker restart ${agent.name}`);
        if (!(await within(60, () => listedAsItself(t, dc, server, agent.name)))) {
            throw new StackError(`${agent.name} did not register again within 60 s; see 'docker logs ${agent.name}'`);
        }
    }
}

/**
 * Restores one datacenter's snapshot through its leader, then its catalog; in a cluster's first
 * datacenter, the stack's tokens too, which the cluster's other datacenters, restored after it, replicate.
 */
async function restoreDatacenter(t: Target, step: RestoreStep, snapshot: string, file: string): Promise<void> {
    const dc = step.datacenter.name;
    const token = t.tokenOf(dc);
    const server = await leaderOf(t, step.datacenter);
    await must(t.stack.docker(dc, ["cp", snapshot, `${server}:${inside}`]), `docker cp of the snapshot into ${server}`);
    // docker cp keeps the file's owner-only mode; the agent runs as the consul user.
    await must(t.stack.docker(dc, ["exec", "-u", "root", server, "chmod", "0644", inside]), `chmod in ${server}`);
    await must(
        t.stack.consul(dc, server, token, ["snapshot", "restore", inside]),
        `consul snapshot restore in ${server}`,
    );
    await t.stack.docker(dc, ["exec", "-u", "root", server, "rm", "-f", inside]);
    say(`restored ${file}'s state of ${dc} through ${server}.`);

    if (
        !(await within(
            60,
            async () => (await t.stack.consul(dc, server, token, ["acl", "token", "read", "-self"])).code === 0,
        ))
    ) {
        throw new StackError(`${dc}'s management token did not come back; see 'docker logs ${server}'`);
    }
    if (step.datacenter === step.cluster.primary) {
        // acl-init creates what is missing and leaves what exists (the snapshot's keys win over the KV seed).
        // Its done file survives a restart, so it goes first: the file then says this run finished.
        const aclInit = step.cluster.aclInitContainer;
        await must(t.stack.docker(dc, ["exec", aclInit, "rm", "-f", aclInitDone]), `clearing ${aclInit}'s done file`);
        await must(t.stack.docker(dc, ["restart", aclInit]), `docker restart ${aclInit}`);
        if (
            !(await within(
                60,
                async () => (await t.stack.docker(dc, ["exec", aclInit, "test", "-f", aclInitDone])).code === 0,
            ))
        ) {
            throw new StackError(`${aclInit} did not finish; see 'docker logs ${aclInit}'`);
        }
        say(`${dc}'s cluster (${names(step.cluster.datacenters)}) has the stack's tokens again (${aclInit}).`);
    }
    await removeStaleEntries(t, step.datacenter, server);
}

/**
 * A restored peering names the trust domain and CA of the stack it was saved from, which the restore brings
 * back as the cluster's Connect CA; but a running server keeps presenting the peering certificate of the
 * trust domain it started with (the first tries of this script waited 90 s for it to follow, in vain). So the
 * acceptor's servers restart, one at a time so Raft keeps its quorum, each healthy before the next; then a new
 * token from the acceptor establishes the peering again, as `pulumi up` first did
 * (components/resources/cluster-peering.ts), asked again while the servers settle.
 */
async function establishPeeringsAgain(t: Target): Promise<void> {
    const dialers = t.stack.model.datacenters.filter((dc) => dc.peersWith !== undefined);
    for (const acceptor of new Set(dialers.map((dc) => t.stack.datacenter(dc.peersWith as string)))) {
        for (const server of acceptor.servers) {
            await must(
                t.stack.docker(acceptor.name, ["restart", "--time", "30", server.name]),
                `docker restart ${server.name}`,
            );
            const healthy = async () =>
                (
                    await t.stack.docker(acceptor.name, [
                        "inspect",
                        "--format",
                        "{{.State.Health.Status}}",
                        server.name,
                    ])
                ).stdout.trim() === "healthy";
            if (!(await within(90, healthy))) {
                throw new StackError(
                    `${server.name} is not healthy 90 s after its restart; see 'docker logs ${server.name}'`,
                );
            }
        }
        say(
            `restarted ${acceptor.name}'s servers one at a time, so that they present the restored trust domain's peering certificate.`,
        );
    }
    for (const dialer of dialers) {
        const acceptor = t.stack.datacenter(dialer.peersWith as string);
        const side = (dc: DatacenterModel) => ({ httpAddr: t.outputs.httpAddrs[dc.name], datacenter: dc.name });
        const peering = {
            caPem: t.outputs.caCertPem,
            acceptor: side(acceptor),
            dialer: side(dialer),
            acceptorToken: t.tokenOf(acceptor.name),
            dialerToken: t.tokenOf(dialer.name),
            serverAddresses: acceptor.peeringAddresses,
        };
        // Asked again while the restarted servers settle. The errors name the call and Consul's answer, never the
        // request body, which may hold the peering token.
        let last = "";
        const established = await within(90, () =>
            establishPeering(peering).then(
                () => true,
                (e: Error) => {
                    last = e.message;
                    return false;
                },
            ),
        );
        if (!established) {
            throw new StackError(
                `could not establish the peering of ${dialer.name} with ${acceptor.name} again within 90 s; last answer: ${last}`,
            );
        }
        await activePeering(peering).catch((e: Error) => {
            throw new StackError(e.message);
        });
        say(`the peering of ${dialer.name} with ${acceptor.name} is established again, and ACTIVE on both sides.`);
    }
}

/**
 * The restored Connect CA has the snapshot's trust domain, but an agent goes on building its proxies' config
 * (clusters, SNI names, the SPIFFE IDs it expects) with the trust domain it started with, so calls between
 * datacenters through the gateways fail until it restarts. So the agent that serves each datacenter's proxies
 * restarts; its Envoys reconnect and take the restored trust domain.
 */
async function refreshMeshProxies(t: Target): Promise<void> {
    // Side by side: each is its own datacenter's, and a client's restart is mostly its graceful leave.
    const restarted = await Promise.all(
        t.stack.model.datacenters
            .filter((dc) => dc.inMesh)
            .map(async (dc) => {
                const agent = proxyAgent(dc).name;
                await must(t.stack.docker(dc.name, ["restart", "--time", "30", agent]), `docker restart ${agent}`);
                return agent;
            }),
    );
    if (restarted.length > 0) {
        say(`restarted ${restarted.join(", ")}, so that their proxies take the restored Connect CA's trust domain.`);
    }
}

/**
 * Checked, not assumed: every agent of every datacenter is healthy, listed as itself in its datacenter's
 * catalog, and answers a request that goes to its servers over RPC (a token read). Side by side, so the wait
 * is the slowest agent's, not the sum.
 */
async function everyAgentWorks(t: Target): Promise<void> {
    const agents = t.stack.model.datacenters.flatMap((dc) =>
        [...dc.servers, ...dc.clients].map((agent) => ({ dc, agent: agent.name })),
    );
    const problems = await Promise.all(
        agents.map(async ({ dc, agent }): Promise<string | undefined> => {
            const healthy = async () =>
                (
                    await t.stack.docker(dc.name, ["inspect", "--format", "{{.State.Health.Status}}", agent])
                ).stdout.trim() === "healthy";
            if (!(await within(60, healthy))) {
                return `${agent} is not healthy; see 'docker logs ${agent}'`;
            }
            if (!(await within(60, () => listedAsItself(t, dc, agent, agent)))) {
                return `${dc.name}'s catalog does not list ${agent} under its node ID`;
            }
            const answers = async () =>
                (await t.stack.consul(dc.name, agent, t.tokenOf(dc.name), ["acl", "token", "read", "-self"])).code ===
                0;
            return (await within(30, answers))
                ? undefined
                : `${agent} cannot reach its servers; see 'docker logs ${agent}'`;
        }),
    );
    const failed = problems.filter((p) => p !== undefined);
    if (failed.length > 0) {
        throw new StackError(
            `not every agent works with the restored state:\n${failed.map((p) => `  - ${p}`).join("\n")}`,
        );
    }
    say(`every agent (${agents.length}) is healthy, listed under its own node ID and answers through its servers.`);
}

async function restore(t: Target, file: string): Promise<void> {
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
        throw new StackError(`cannot read ${file}.`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-snapshot-"));
    try {
        let held: readonly HeldState[];
        let snapshotOf = (entry: string) => path.join(dir, entry);
        if (isSingleConsulSnapshot(file)) {
            const first = t.stack.clusters[0].primary.name;
            held = [{ name: first, cluster: first, file: snapshotFileOf(first) }];
            snapshotOf = () => file;
            say(`${file} is one Consul snapshot, as this script saved before it saved every datacenter: ${first}'s.`);
        } else {
            held = readArchive(file, dir).datacenters;
        }
        const plan = restorePlan(file, held, t.stack.clusters);
        for (const dc of plan.untouched) {
            say(`${file} holds no state of ${dc.name}: it keeps its own.`);
        }
        for (const step of plan.restore) {
            await restoreDatacenter(t, step, snapshotOf(step.file), file);
        }
        await establishPeeringsAgain(t);
        await refreshMeshProxies(t);
        await everyAgentWorks(t);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main(): Promise<number> {
    let parsed: ReturnType<typeof parseOptions>;
    try {
        parsed = parseOptions();
    } catch (e) {
        console.error(`snapshot: ${(e as Error).message}\n${usage}`);
        return 2;
    }
    const { verb, file, stack: name } = parsed;
    const stack = openStack({ stack: name, secrets: true });
    const outputs = deployed(stack);
    const primary = outputs.primaryDatacenter ?? stack.model.primaryDatacenter;
    const tokens = new Map(
        stack.clusters.flatMap((c) =>
            c.datacenters.map((dc) => [dc.name, managementToken(outputs, c, primary)] as const),
        ),
    );
    const target: Target = { stack, outputs, tokenOf: (dc) => tokens.get(dc) as string };
    await (verb === "save" ? save(target, file) : restore(target, file));
    return 0;
}

function parseOptions(): { verb: "save" | "restore"; file: string; stack?: string } {
    const { values, positionals } = parseArgs({ options: { stack: { type: "string" } }, allowPositionals: true });
    const [verb, file, ...rest] = positionals;
    if ((verb !== "save" && verb !== "restore") || !file || rest.length > 0) {
        throw new Error(`expected save or restore and a FILE, got ${JSON.stringify(positionals)}`);
    }
    return { verb, file, ...(values.stack ? { stack: values.stack } : {}) };
}

runMain("snapshot", main);
