// Milestones of a forming cluster, probed the same way for ours and for the seed: Consul's own CLI and
// HTTP API inside the agents' containers (`docker exec`), and Docker's own record of each container.
import { docker, exec } from "../test/support/docker";

export const milestoneNames = ["leaders", "wan", "cross-dc-kv", "healthy"] as const;
export type Milestone = (typeof milestoneNames)[number];

export interface ClusterShape {
    /** Agent containers by datacenter, the primary first. */
    readonly datacenters: readonly { readonly name: string; readonly servers: readonly string[]; readonly clients: readonly string[] }[];
    /** Every container whose healthcheck must pass (none for the seed, whose containers have none). */
    readonly healthchecked: readonly string[];
    /** A token for the CLI, once it can be had (ours: ACLs deny without one), or none. */
    readonly token: () => Promise<string | undefined>;
}

export interface Timeline {
    /** Epoch ms of the first agent container's start, from Docker. */
    readonly firstStart: number;
    /** Epoch ms at which each milestone was first seen. */
    readonly seenAt: Partial<Record<Milestone, number>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Docker's StartedAt (nanoseconds) as epoch ms. */
function startedAt(text: string): number {
    return Date.parse(text.trim().replace(/(\.\d{3})\d*/, "$1"));
}

async function firstAgentStart(shape: ClusterShape): Promise<number> {
    const agents = shape.datacenters.flatMap((dc) => [...dc.servers, ...dc.clients]);
    const out = await docker(["inspect", "--format", "{{.State.StartedAt}}", ...agents]);
    const times = out.stdout.split("\n").filter((l) => l.startsWith("20")).map(startedAt);
    if (times.length !== agents.length) {
        throw new Error(`not every agent container has started: ${out.stderr.trim()}`);
    }
    return Math.min(...times);
}

async function leaders(shape: ClusterShape): Promise<boolean> {
    const answers = await Promise.all(
        shape.datacenters.map((dc) => exec(dc.servers[0], ["wget", "-q", "-O", "-", "http://127.0.0.1:8500/v1/status/leader"], {}, 5000)),
    );
    return answers.every((a) => a.code === 0 && /:8300"/.test(a.stdout));
}

async function wan(shape: ClusterShape, env: Record<string, string>): Promise<boolean> {
    const servers = shape.datacenters.reduce((n, dc) => n + dc.servers.length, 0);
    const out = await exec(shape.datacenters[0].servers[0], ["consul", "members", "-wan"], env, 5000);
    return out.code === 0 && out.stdout.split("\n").filter((l) => /\salive\s/.test(l)).length === servers;
}

/** A key written in the primary is read back through every other datacenter's server. */
async function crossDcKv(shape: ClusterShape, env: Record<string, string>): Promise<boolean> {
    const [primary, ...others] = shape.datacenters;
    const stamp = `bench-${Date.now()}`;
    const put = await exec(primary.servers[0], ["consul", "kv", "put", "bench/probe", stamp], env, 5000);
    if (put.code !== 0) return false;
    const reads = await Promise.all(
        others.map((dc) => exec(dc.servers[0], ["consul", "kv", "get", `-datacenter=${primary.name}`, "bench/probe"], env, 5000)),
    );
    return reads.every((r) => r.code === 0 && r.stdout.trim() === stamp);
}

async function healthy(shape: ClusterShape): Promise<boolean> {
    if (shape.healthchecked.length === 0) return false;
    const out = await docker(["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", ...shape.healthchecked]);
    return out.code === 0 && out.stdout.trim().split("\n").every((s) => s === "healthy");
}

/**
 * Polls every ~100 ms, each milestone on its own, until every one is seen (healthy only where there are
 * healthchecks) or `timeoutMs` passes, while something else creates the cluster; `stop` ends it early.
 */
export async function watchMilestones(shape: ClusterShape, timeoutMs: number, stop: () => boolean): Promise<Timeline> {
    const seenAt: Partial<Record<Milestone, number>> = {};
    const deadline = Date.now() + timeoutMs;
    const wanted = milestoneNames.filter((m) => m !== "healthy" || shape.healthchecked.length > 0);
    let env: Record<string, string> = {};
    while (Date.now() < deadline && !stop() && wanted.some((m) => seenAt[m] === undefined)) {
        const token = await shape.token().catch(() => undefined);
        env = token ? { CONSUL_HTTP_TOKEN: token } : {};
        const checks: Promise<void>[] = [];
        const check = (m: Milestone, probe: () => Promise<boolean>) =>
            checks.push(probe().then((ok) => { if (ok && seenAt[m] === undefined) seenAt[m] = Date.now(); }, () => undefined));
        if (seenAt.leaders === undefined) check("leaders", () => leaders(shape));
        if (seenAt.wan === undefined) check("wan", () => wan(shape, env));
        if (seenAt["cross-dc-kv"] === undefined) check("cross-dc-kv", () => crossDcKv(shape, env));
        if (wanted.includes("healthy") && seenAt.healthy === undefined) check("healthy", () => healthy(shape));
        await Promise.all(checks);
        await sleep(100);
    }
    return { firstStart: await firstAgentStart(shape), seenAt };
}

/** Resident memory (RSS) of every process in each container, in MiB, from the host's ps. */
export async function memoryMiB(containers: readonly string[]): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const c of containers) {
        const out = await docker(["top", c, "-o", "pid,rss"]);
        const kib = out.stdout.split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[1])).filter((n) => Number.isFinite(n)).reduce((a, b) => a + b, 0);
        result[c] = Math.round((kib / 1024) * 10) / 10;
    }
    return result;
}
