// `npm run bench -- [--runs N] [--scale-runs N] [--hosts-runs N]`: how fast a user gets a working cluster,
// from the user's command, through the addresses the user reaches (each datacenter's published client),
// ours against the demo's own setup (the seed), side by side in one run, with the same Consul image, and
// ours across three Docker hosts (scripts/test-hosts.sh). Ours goes through the real engine (Automation
// API), as `pulumi up` does for a user. Prints a table and parseable lines.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { PulumiCommand } from "@pulumi/pulumi/automation";
import YAML from "yaml";
import { compileStack } from "../components/model/compile";
import { crossDcProbe } from "../scripts/mesh-failover";
import { api } from "../test/cluster/consul-cli";
import { checkPrerequisites } from "../test/cluster/prerequisites";
import { aclTokensIn } from "../test/support/acl-tokens";
import { dockerOk, fileIn } from "../test/support/docker";
import { createStack, devSettings, removeStack } from "../test/support/engine";
import { stackSettings } from "../test/support/model";
import { leftovers, tearDown } from "../test/support/teardown";
import { type TestHosts, testHosts } from "../test/support/test-hosts";
import { acrossHostsRun, type HostsRun } from "./across-hosts";
import { type KindSpan, kindSpans, type ReceivedEvent } from "./engine-timeline";
import { firstTrue, type MeshFigures, meshAfterUp } from "./mesh";
import {
    agentApi,
    type ClusterShape,
    type Memory,
    type Milestone,
    memoryMiB,
    milestoneNames,
    watchMilestones,
} from "./milestones";

interface RunResult {
    upMs?: number;
    destroyMs?: number;
    /** From the first agent container's start. */
    milestones: Partial<Record<Milestone, number>>;
    /** From the start of the user's command: `pulumi up`, or the seed's `run.sh up`. */
    fromCommand: Partial<Record<Milestone, number>>;
    /** From the start of the command to the first agent container's start. */
    firstStartMs: number;
    /** Ours: each resource kind's span before the first agent started, from the engine's events. */
    kinds?: { firstStep: number; kinds: KindSpan[] };
    memory: Record<string, Memory>;
    /** Ours, with the mesh on: its figures, the cross-datacenter call from the command. */
    mesh?: Omit<MeshFigures, "crossDcAt"> & { crossDcMs?: number };
}

function benchArgs(argv: string[]): { runs: number; scaleRuns: number; hostsRuns: number } {
    const { values } = parseArgs({
        args: argv,
        options: {
            runs: { type: "string", default: "3" },
            "scale-runs": { type: "string", default: "1" },
            "hosts-runs": { type: "string", default: "1" },
        },
    });
    const [runs, scaleRuns, hostsRuns] = [values.runs, values["scale-runs"], values["hosts-runs"]].map(Number);
    if (!Number.isInteger(runs) || runs < 1 || ![scaleRuns, hostsRuns].every((n) => Number.isInteger(n) && n >= 0)) {
        throw new Error(
            `bad arguments --runs ${values.runs} --scale-runs ${values["scale-runs"]} --hosts-runs ${values["hosts-runs"]}: ` +
                "use --runs N (N ≥ 1), --scale-runs N and --hosts-runs N (N ≥ 0)",
        );
    }
    return { runs, scaleRuns, hostsRuns };
}

/** The agents of a stack whose settings file is written, as its model names them. */
function shapeOf(stackName: string, model = compileStack(stackSettings(stackName))): ClusterShape {
    const dcs = model.datacenters.map((dc) => ({
        name: dc.name,
        servers: dc.servers.map((a) => a.name),
        clients: dc.clients.map((a) => a.name),
    }));
    const primaryServer = dcs[0].servers[0];
    let token: string | undefined;
    let ca: string | undefined;
    const publishedAt = Object.fromEntries(
        model.datacenters.map((dc) => [dc.name, { addr: `127.0.0.1:${dc.ports.http}`, agent: dc.published.name }]),
    );
    return {
        datacenters: dcs,
        healthchecked: [
            ...dcs.flatMap((dc) => [...dc.servers, ...dc.clients]),
            ...model.datacenters.flatMap((dc) => dc.aclInitContainer ?? []),
        ],
        // The management token, as dc1's servers hold it (initial_management); read once the file is there.
        token: async () => {
            if (!token) {
                token = (await aclTokensIn(primaryServer)).initial_management;
            }
            return token;
        },
        // The published HTTPS API, trusting the stack's CA as the agent holds it: the outputs come only when up returns.
        published: (dc) => async (method, urlPath, t, body) => {
            ca ??= (await fileIn(publishedAt[dc].agent, "/consul/tls/ca.pem").catch(() => undefined))?.toString();
            return ca
                ? api(publishedAt[dc].addr, urlPath, { ca, token: t, method, body, timeoutMs: 2000 })
                : { status: 0, body: "" };
        },
    };
}

async function ours(pulumi: PulumiCommand, stackName: string, settings: string): Promise<RunResult> {
    await tearDown(pulumi, stackName);
    const stack = await createStack(pulumi, stackName, settings);
    const model = compileStack(stackSettings(stackName));
    const shape = shapeOf(stackName, model);
    let done = false;
    const events: ReceivedEvent[] = [];
    const t0 = Date.now();
    const watching = watchMilestones(shape, 240_000, () => done);
    const meshing = model.mesh
        ? firstTrue(crossDcProbe(model, shape.published(model.primaryDatacenter), shape.token), 240_000, () => done)
        : undefined;
    // The user's command returns when `pulumi up` prints its last line: the Automation API then runs another
    // CLI process to read the outputs, which a user's `pulumi up` does not.
    let lastOutput = t0;
    const up = await stack.up({
        onEvent: (event) => events.push({ at: Date.now(), event }),
        onOutput: () => (lastOutput = Date.now()),
    });
    const upMs = lastOutput - t0;
    if (up.summary.result !== "succeeded") throw new Error(`pulumi up: ${up.summary.result}`);
    const timeline = await watching;
    const crossDcAt = await meshing;
    done = true;
    const agents = shape.datacenters.flatMap((dc) => [...dc.servers, ...dc.clients]);
    const memory = await memoryMiB(agents);
    const meshDemoUrl = up.outputs.meshDemoUrl?.value as string | undefined;
    const mesh = meshDemoUrl
        ? { ...(await meshAfterUp(model, meshDemoUrl)), ...(crossDcAt ? { crossDcMs: crossDcAt - t0 } : {}) }
        : undefined;
    const d0 = Date.now();
    await stack.destroy();
    const destroyMs = Date.now() - d0;
    await removeStack(stack);
    const left = await leftovers(stackName);
    if (left.length > 0) throw new Error(`pulumi destroy left ${left.join(", ")}`);
    return {
        upMs,
        destroyMs,
        firstStartMs: timeline.firstStart - t0,
        milestones: relative(timeline.firstStart, timeline.seenAt),
        fromCommand: relative(t0, timeline.seenAt),
        kinds: kindSpans(events, t0, timeline.firstStart),
        memory,
        ...(mesh ? { mesh } : {}),
    };
}

const seedDir = path.join(__dirname, "seed");
const seedNetwork = "consul-seed-bench";

async function seed(image: string): Promise<RunResult> {
    const run = (...args: string[]) =>
        new Promise<void>((resolve, reject) => {
            const child = spawn("bash", [path.join(seedDir, "run.sh"), ...args], { stdio: "inherit" });
            child.on("close", (code) =>
                code === 0 ? resolve() : reject(new Error(`seed run.sh ${args[0]} exited ${code}`)),
            );
        });
    await run("down", seedNetwork);
    const dcs = [
        { name: "dc1", servers: ["dc1-server1", "dc1-server2", "dc1-server3"], clients: ["dc1-client1"] },
        { name: "dc2", servers: ["dc2-server1"], clients: ["dc2-client1"] },
    ];
    // The seed publishes no port: an application talks to its datacenter's client agent.
    const clientOf = Object.fromEntries(dcs.map((dc) => [dc.name, dc.clients[0]]));
    const shape: ClusterShape = {
        datacenters: dcs,
        healthchecked: [],
        token: async () => undefined,
        published: (dc) => (method, urlPath, token, body) => agentApi(clientOf[dc], method, urlPath, token, body),
    };
    let done = false;
    // From the command, as for ours: the probes start with it, and find nothing until the agents run.
    const t0 = Date.now();
    const watching = watchMilestones(shape, 300_000, () => done);
    await run("up", image, seedNetwork);
    const timeline = await watching;
    done = true;
    const memory = await memoryMiB(dcs.flatMap((dc) => [...dc.servers, ...dc.clients]));
    await run("down", seedNetwork);
    return {
        firstStartMs: timeline.firstStart - t0,
        milestones: relative(timeline.firstStart, timeline.seenAt),
        fromCommand: relative(t0, timeline.seenAt),
        memory,
    };
}

function relative(from: number, seenAt: Partial<Record<Milestone, number>>): Partial<Record<Milestone, number>> {
    return Object.fromEntries(Object.entries(seenAt).map(([m, t]) => [m, (t as number) - from]));
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
};
const stats = (xs: number[]) =>
    xs.length === 0 ? undefined : { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
const fmt = (s?: { min: number; median: number; max: number }) => (s ? `${s.min} / ${s.median} / ${s.max}` : "n/a");
const pick = (runs: RunResult[], f: (r: RunResult) => number | undefined) =>
    runs.map(f).filter((x): x is number => x !== undefined);
const totalMemory = (r: RunResult, kind: keyof Memory = "rss") =>
    Math.round(Object.values(r.memory).reduce((a, m) => a + m[kind], 0));

function report(oursRuns: RunResult[], seedRuns: RunResult[], scaleRuns: RunResult[], hostsRuns: HostsRun[]): void {
    const rows: [string, string, string][] = [];
    for (const m of milestoneNames) {
        rows.push([
            `${m}, ms from the command`,
            fmt(stats(pick(oursRuns, (r) => r.fromCommand[m]))),
            fmt(stats(pick(seedRuns, (r) => r.fromCommand[m]))),
        ]);
        rows.push([
            `${m}, ms from the first agent's start`,
            fmt(stats(pick(oursRuns, (r) => r.milestones[m]))),
            fmt(stats(pick(seedRuns, (r) => r.milestones[m]))),
        ]);
    }
    rows.push([
        "first agent start, ms from the command",
        fmt(stats(pick(oursRuns, (r) => r.firstStartMs))),
        fmt(stats(pick(seedRuns, (r) => r.firstStartMs))),
    ]);
    rows.push([
        "command returns (pulumi up), ms",
        fmt(stats(pick(oursRuns, (r) => r.upMs))),
        "n/a (docker run, in the background)",
    ]);
    rows.push(["pulumi destroy (ms)", fmt(stats(pick(oursRuns, (r) => r.destroyMs))), "n/a"]);
    for (const [kind, label] of [
        ["rss", "RSS"],
        ["pss", "PSS (shared binary divided)"],
        ["anon", "anonymous (own) memory"],
    ] as const) {
        rows.push([
            `agents' ${label}, total (MiB)`,
            fmt(stats(oursRuns.map((r) => totalMemory(r, kind)))),
            fmt(stats(seedRuns.map((r) => totalMemory(r, kind)))),
        ]);
    }
    const header = ["", `ours (min / median / max, ${oursRuns.length} runs)`, `seed (${seedRuns.length} runs)`];
    const width = [0, 1, 2].map((i) => Math.max(...[header, ...rows].map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(width[i])).join(" | ")} |`;
    console.log(`\n${line(header)}`);
    console.log(line(width.map((w) => "-".repeat(w))));
    rows.forEach((r) => console.log(line(r)));
    console.log(
        "Milestones are probed through each datacenter's published client agent (ours: its HTTPS API on the host; the seed publishes nothing: its client's loopback), the WAN pool through the first server.",
    );

    const perAgent = (r: RunResult) =>
        Object.entries(r.memory)
            .map(([a, m]) => `${a} ${m.rss}/${m.pss}/${m.anon}`)
            .join(", ");
    console.log("\nper-agent memory after convergence, last run (MiB, RSS/PSS/anonymous):");
    console.log(`  ours: ${perAgent(oursRuns[oursRuns.length - 1])}`);
    console.log(`  seed: ${perAgent(seedRuns[seedRuns.length - 1])}`);
    if (scaleRuns.length > 0) {
        const last = scaleRuns[scaleRuns.length - 1];
        console.log(`\nscale, 24 agents (3 DCs x 5 servers + 3 clients, ${scaleRuns.length} runs):`);
        for (const m of milestoneNames)
            console.log(`  ${m}: ${fmt(stats(pick(scaleRuns, (r) => r.fromCommand[m])))} ms from the command`);
        console.log(
            `  pulumi up: ${fmt(stats(pick(scaleRuns, (r) => r.upMs)))} ms; destroy: ${fmt(stats(pick(scaleRuns, (r) => r.destroyMs)))} ms`,
        );
        console.log(
            `  RSS total ${totalMemory(last)} MiB, PSS ${totalMemory(last, "pss")} MiB (RSS per agent ${Math.round(totalMemory(last) / 24)}; with 6 agents ${Math.round(totalMemory(oursRuns[0]) / 6)})`,
        );
    }

    // Where ours spends the time before the first agent starts, by the engine's own events, in the run with the median `pulumi up`.
    const up = median(pick(oursRuns, (r) => r.upMs));
    const typical = [...oursRuns].sort((a, b) => Math.abs((a.upMs ?? 0) - up) - Math.abs((b.upMs ?? 0) - up))[0];
    if (typical.kinds) {
        console.log(
            `\nbefore the first agent starts (+${typical.firstStartMs} ms), by resource kind, ms from the command (run with pulumi up ${typical.upMs} ms):`,
        );
        console.log(
            `  ${"0".padStart(6)} → ${String(typical.kinds.firstStep).padEnd(6)} the CLI, its plugins and the program, up to the engine's first step`,
        );
        for (const k of typical.kinds.kinds) {
            console.log(`  ${String(k.from).padStart(6)} → ${String(k.to).padEnd(6)} ${k.kind} (${k.count})`);
        }
    }

    console.log("");
    for (const m of milestoneNames) {
        const o = pick(oursRuns, (r) => r.fromCommand[m]);
        const s = pick(seedRuns, (r) => r.fromCommand[m]);
        if (o.length) console.log(`ours ${m} from the command: median ${median(o)} ms`);
        if (s.length) console.log(`seed ${m} from the command: median ${median(s)} ms`);
        if (o.length && s.length)
            console.log(`seed/ours ${m} from the command: ${(median(s) / median(o)).toFixed(2)}x`);
    }
    console.log(`pulumi up: median ${up} ms`);
    const meshRuns = oursRuns.filter((r) => r.mesh);
    if (meshRuns.length > 0) {
        console.log(
            `ours mesh: frontend's identity to web in dc2 through both mesh gateways, from the command: ${fmt(stats(pick(meshRuns, (r) => r.mesh?.crossDcMs)))} ms (min / median / max)`,
        );
        console.log(
            `ours mesh failover window (meshDemoUrl every 100 ms, dc1's web stopped): ${fmt(stats(pick(meshRuns, (r) => r.mesh?.failoverWindowMs)))} ms, ` +
                `failed calls ${fmt(stats(pick(meshRuns, (r) => r.mesh?.failoverFailed)))}`,
        );
        const envoys = Object.entries(meshRuns[meshRuns.length - 1].mesh?.envoyMemory ?? {});
        const rss = (gateway: boolean) =>
            envoys.filter(([c]) => c.endsWith("-mesh-gateway") === gateway).map(([, m]) => m.rss);
        console.log(
            `ours mesh Envoy memory, last run (MiB RSS): per sidecar ${fmt(stats(rss(false)))}, per gateway ${fmt(stats(rss(true)))}; ` +
                envoys.map(([c, m]) => `${c} ${m.rss}/${m.pss}/${m.anon}`).join(", "),
        );
    }
    if (scaleRuns.length > 0)
        console.log(`scale 24 agents: pulumi up median ${median(pick(scaleRuns, (r) => r.upMs))} ms`);
    if (hostsRuns.length > 0) {
        const rss = Object.keys(hostsRuns[0].rssByHost)
            .map((dc) => `${dc}'s host ${median(hostsRuns.map((r) => r.rssByHost[dc]))} MiB`)
            .join(", ");
        console.log(
            `across 3 hosts: pulumi up median ${median(hostsRuns.map((r) => r.upMs))} ms (${hostsRuns.length} runs)`,
        );
        console.log(
            `across 3 hosts: cross-dc-kv from the command median ${median(hostsRuns.map((r) => r.crossDcKvMs))} ms (dc1's published API → dc2's and dc3's, on their host addresses)`,
        );
        console.log(`across 3 hosts: agents' RSS per host: ${rss}`);
    }
    console.log(
        `ours memory: median ${median(oursRuns.map((r) => totalMemory(r)))} MiB RSS, ${median(oursRuns.map((r) => totalMemory(r, "pss")))} MiB PSS in total for 6 agents`,
    );
}

async function main(): Promise<void> {
    const { runs, scaleRuns, hostsRuns } = benchArgs(process.argv.slice(2));
    const settings = devSettings();
    const image = YAML.parse(settings).config["consul-multi-dc:image"] as string;
    const pulumi = await checkPrerequisites(image);
    const testHostList = hostsRuns > 0 ? await testHosts() : undefined;
    const scaleSettings = fs.readFileSync(path.join(__dirname, "scale.yaml"), "utf8");
    console.log(
        `bench: ${runs} runs of ours and the seed, ${scaleRuns} of the 24-agent stack, ${hostsRuns} across 3 Docker hosts, on ${os.cpus().length} CPUs ` +
            `(${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Docker ${(await dockerOk(["version", "--format", "{{.Server.Version}}"])).trim()}, image ${image}`,
    );
    const oursRuns: RunResult[] = [];
    const seedRuns: RunResult[] = [];
    for (let i = 1; i <= runs; i++) {
        const o = await ours(pulumi, "bench", settings);
        console.log(
            `run ${i} ours: up ${o.upMs} ms, destroy ${o.destroyMs} ms, first agent +${o.firstStartMs} ms, from the command ${JSON.stringify(o.fromCommand)}, RSS ${totalMemory(o)} MiB`,
        );
        oursRuns.push(o);
        const s = await seed(image);
        console.log(
            `run ${i} seed: first agent +${s.firstStartMs} ms, from the command ${JSON.stringify(s.fromCommand)}, RSS ${totalMemory(s)} MiB`,
        );
        seedRuns.push(s);
    }
    const scale: RunResult[] = [];
    for (let i = 1; i <= scaleRuns; i++) {
        const r = await ours(pulumi, "bench-scale", scaleSettings);
        console.log(
            `scale run ${i}: up ${r.upMs} ms, destroy ${r.destroyMs} ms, from the command ${JSON.stringify(r.fromCommand)}, RSS ${totalMemory(r)} MiB`,
        );
        scale.push(r);
    }
    const hosts: HostsRun[] = [];
    for (let i = 1; i <= hostsRuns; i++) {
        const r = await acrossHostsRun(pulumi, testHostList as TestHosts);
        console.log(
            `hosts run ${i}: up ${r.upMs} ms, cross-dc-kv from the command ${r.crossDcKvMs} ms, RSS by host ${JSON.stringify(r.rssByHost)} MiB`,
        );
        hosts.push(r);
    }
    report(oursRuns, seedRuns, scale, hosts);
}

main().catch((e) => {
    console.error(`bench: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
});
