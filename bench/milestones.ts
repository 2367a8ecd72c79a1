// Milestones of a forming cluster, probed as an application reaches it: through each datacenter's
// published client agent (ours: its HTTPS API on the host, with the stack's CA; the seed publishes nothing,
// so its client agent's loopback, 127.0.0.1:8500 inside its network namespace). The WAN pool is a
// servers' matter, asked of the first server. Docker's own record gives each container's start. Loopback
// probes enter the namespace with nsenter and ask with curl, which costs a few milliseconds; `docker exec`
// every 100 ms would itself slow the cluster being timed.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { docker, dockerOk } from "../test/support/docker";

export const milestoneNames = ["leaders", "wan", "cross-dc-kv", "healthy"] as const;
export type Milestone = (typeof milestoneNames)[number];

export interface ClusterShape {
    /** Agent containers by datacenter, the primary first. */
    readonly datacenters: readonly {
        readonly name: string;
        readonly servers: readonly string[];
        readonly clients: readonly string[];
    }[];
    /** Every container whose healthcheck must pass (none for the seed, whose containers have none). */
    readonly healthchecked: readonly string[];
    /** A token for the CLI, once it can be had (ours: ACLs deny without one), or none. */
    readonly token: () => Promise<string | undefined>;
    /** A call to the agent an application in datacenter `dc` talks to. */
    readonly published: (dc: string) => AgentCall;
}

export type AgentCall = (
    method: string,
    urlPath: string,
    token?: string,
    body?: string,
) => Promise<{ status: number; body: string }>;

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
    const times = out.stdout
        .split("\n")
        .filter((l) => l.startsWith("20"))
        .map(startedAt);
    if (times.length !== agents.length) {
        throw new Error(`not every agent container has started: ${out.stderr.trim()}`);
    }
    return Math.min(...times);
}

const pids = new Map<string, number>();

/** The container's main process, whose network namespace holds the agent's loopback API. */
async function pidOf(container: string): Promise<number> {
    let pid = pids.get(container);
    if (!pid) {
        pid = Number((await dockerOk(["inspect", "--format", "{{.State.Pid}}", container])).trim());
        if (!pid) throw new Error(`${container} is not running`);
        pids.set(container, pid);
    }
    return pid;
}

/** An HTTP request to the agent in `container` on its loopback; the token goes to curl on stdin, never in its arguments. */
export async function agentApi(
    container: string,
    method: string,
    urlPath: string,
    token?: string,
    body?: string,
): Promise<{ status: number; body: string }> {
    const pid = await pidOf(container);
    const args = [
        `--net=/proc/${pid}/ns/net`,
        "curl",
        "-s",
        "-m",
        "3",
        "-X",
        method,
        "-H",
        "@-",
        "-w",
        "\n%{http_code}",
        ...(body !== undefined ? ["--data-binary", body] : []),
        `http://127.0.0.1:8500${urlPath}`,
    ];
    return new Promise((resolve) => {
        const child = execFile("nsenter", args, { timeout: 5000 }, (error, stdout) => {
            const text = String(stdout);
            const cut = text.lastIndexOf("\n");
            resolve(
                error ? { status: 0, body: "" } : { status: Number(text.slice(cut + 1)), body: text.slice(0, cut) },
            );
        });
        child.stdin?.end(token ? `X-Consul-Token: ${token}\n` : "");
    });
}

/** Every datacenter's published agent names a leader. */
async function leaders(shape: ClusterShape): Promise<boolean> {
    const answers = await Promise.all(
        shape.datacenters.map((dc) => shape.published(dc.name)("GET", "/v1/status/leader")),
    );
    return answers.every((a) => a.status === 200 && /:8300"/.test(a.body));
}

async function wan(shape: ClusterShape, token?: string): Promise<boolean> {
    const servers = shape.datacenters.reduce((n, dc) => n + dc.servers.length, 0);
    const res = await agentApi(shape.datacenters[0].servers[0], "GET", "/v1/agent/members?wan=1", token);
    // Serf status 1 is alive.
    return (
        res.status === 200 &&
        (JSON.parse(res.body) as { Status: number }[]).filter((m) => m.Status === 1).length === servers
    );
}

/** A key written through the primary's published agent is read back through every other datacenter's. */
async function crossDcKv(shape: ClusterShape, token?: string): Promise<boolean> {
    const [primary, ...others] = shape.datacenters;
    const stamp = `bench-${Date.now()}`;
    const put = await shape.published(primary.name)("PUT", "/v1/kv/bench/probe", token, stamp);
    if (put.status !== 200) return false;
    const reads = await Promise.all(
        others.map((dc) => shape.published(dc.name)("GET", `/v1/kv/bench/probe?dc=${primary.name}&raw`, token)),
    );
    return reads.every((r) => r.status === 200 && r.body === stamp);
}

async function healthy(shape: ClusterShape): Promise<boolean> {
    if (shape.healthchecked.length === 0) return false;
    const out = await docker([
        "inspect",
        "--format",
        "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
        ...shape.healthchecked,
    ]);
    return (
        out.code === 0 &&
        out.stdout
            .trim()
            .split("\n")
            .every((s) => s === "healthy")
    );
}

/**
 * Polls every ~100 ms, each milestone on its own, until every one is seen (healthy only where there are
 * healthchecks) or `timeoutMs` passes, while something else creates the cluster; `stop` ends it early.
 */
export async function watchMilestones(shape: ClusterShape, timeoutMs: number, stop: () => boolean): Promise<Timeline> {
    const seenAt: Partial<Record<Milestone, number>> = {};
    const deadline = Date.now() + timeoutMs;
    const wanted = milestoneNames.filter((m) => m !== "healthy" || shape.healthchecked.length > 0);
    pids.clear();
    while (Date.now() < deadline && !stop() && wanted.some((m) => seenAt[m] === undefined)) {
        const token = await shape.token().catch(() => undefined);
        const checks: Promise<void>[] = [];
        const check = (m: Milestone, probe: () => Promise<boolean>) =>
            checks.push(
                probe().then(
                    (ok) => {
                        if (ok && seenAt[m] === undefined) seenAt[m] = Date.now();
                    },
                    () => undefined,
                ),
            );
        if (seenAt.leaders === undefined) check("leaders", () => leaders(shape));
        if (seenAt.wan === undefined) check("wan", () => wan(shape, token));
        if (seenAt["cross-dc-kv"] === undefined) check("cross-dc-kv", () => crossDcKv(shape, token));
        if (wanted.includes("healthy") && seenAt.healthy === undefined) check("healthy", () => healthy(shape));
        await Promise.all(checks);
        await sleep(100);
    }
    return { firstStart: await firstAgentStart(shape), seenAt };
}

export interface Memory {
    /** Resident set: what `ps` and the issue call memory. It counts the shared Consul binary in full for every agent. */
    readonly rss: number;
    /** Proportional set: shared pages divided among the processes sharing them, so the sum is real memory. */
    readonly pss: number;
    /** The agent's own memory (heap, stacks), none of it shared. */
    readonly anon: number;
}

const kib = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);

/**
 * Memory of every process in each container, in MiB, from the host's /proc (the bench runs as root).
 * `engine`: docker's -H flag for another engine on this machine (scripts/test-hosts.sh's share its PIDs).
 */
export async function memoryMiB(
    containers: readonly string[],
    engine: readonly string[] = [],
): Promise<Record<string, Memory>> {
    const result: Record<string, Memory> = {};
    for (const c of containers) {
        const procs = (await dockerOk([...engine, "top", c, "-o", "pid"]))
            .split("\n")
            .slice(1)
            .map((l) => l.trim())
            .filter(Boolean);
        const sum = { rss: 0, pss: 0, anon: 0 };
        for (const pid of procs) {
            try {
                const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
                const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
                sum.rss += kib(status, "VmRSS");
                sum.anon += kib(status, "RssAnon");
                sum.pss += kib(rollup, "Pss");
            } catch {
                // A healthcheck's process ended between the listing and the read: it is not the agent's memory.
            }
        }
        const mib = (k: number) => Math.round((k / 1024) * 10) / 10;
        result[c] = { rss: mib(sum.rss), pss: mib(sum.pss), anon: mib(sum.anon) };
    }
    return result;
}
