// Declares the real program's resources, creates exactly those on the Docker Engine, and removes them.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ProgramRun, runProgram, stackConfig } from "../support/program";
import { docker, dockerOk } from "./docker";
import { realState } from "./real-state";
import { ContainerStep, DockerPlan, translate, Upload } from "./translate";

export interface DeclaredCluster {
    readonly run: ProgramRun;
    readonly plan: DockerPlan;
}

export async function declareCluster(): Promise<DeclaredCluster> {
    const run = await runProgram({ config: stackConfig(), computeState: realState });
    return { run, plan: translate(run.resources) };
}

/**
 * Creates networks, volumes and containers (uploads copied in, networks connected), then starts each
 * container once the containers it depends on are ready, where ready means healthy for `wait: true`:
 * the order and the waits of `pulumi up`. Returns when every container is ready.
 */
export async function applyPlan(plan: DockerPlan): Promise<{ firstStartedAt: number; lastStartedAt: number }> {
    for (const image of plan.images) {
        await dockerOk(["image", "inspect", image]);
    }
    for (const step of [...plan.networks, ...plan.volumes]) {
        await dockerOk(step.args);
    }
    for (const c of plan.containers) {
        await dockerOk(c.createArgs);
        await copyUploads(c.name, c.uploads);
        for (const args of c.connectArgs) {
            await dockerOk(args);
        }
    }
    let firstStartedAt = Infinity;
    let lastStartedAt = 0;
    const ready = new Map<string, Promise<void>>();
    const start = (c: ContainerStep): Promise<void> => {
        let promise = ready.get(c.name);
        if (!promise) {
            promise = (async () => {
                await Promise.all(c.startAfter.map((name) => start(plan.containers.find((x) => x.name === name) as ContainerStep)));
                await dockerOk(["start", c.name]);
                firstStartedAt = Math.min(firstStartedAt, Date.now());
                lastStartedAt = Math.max(lastStartedAt, Date.now());
                await waitHealthy(c);
            })();
            ready.set(c.name, promise);
        }
        return promise;
    };
    await Promise.all(plan.containers.map(start));
    return { firstStartedAt, lastStartedAt };
}

/**
 * Copies files in as the Docker provider does: one tar whose entries carry the full path, extracted at
 * "/" (so missing folders are created), files owned by root with mode 0644. Content may hold secrets,
 * so it goes through a private temp dir and stdin, never through argv or logs.
 */
export async function copyUploads(container: string, uploads: readonly Upload[]): Promise<void> {
    if (uploads.length === 0) {
        return;
    }
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "consul-uploads-"));
    try {
        const entries = uploads.map((u) => u.file.replace(/^\/+/, ""));
        uploads.forEach((u, i) => {
            const local = path.join(staging, entries[i]);
            fs.mkdirSync(path.dirname(local), { recursive: true });
            fs.writeFileSync(local, u.content, { mode: 0o644 });
        });
        const tar = execFileSync("tar", ["-C", staging, "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", ...entries], {
            maxBuffer: 64 * 1024 * 1024,
        });
        await dockerOk(["cp", "-", `${container}:/`], undefined, tar);
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
}

/** `wait: true`: the container becomes healthy within its timeout, as `pulumi up` requires. */
async function waitHealthy(c: ContainerStep): Promise<void> {
    if (c.waitHealthySeconds === undefined) {
        return;
    }
    const deadline = Date.now() + c.waitHealthySeconds * 1000;
    let status = "";
    while (Date.now() < deadline) {
        status = (await dockerOk(["inspect", "--format", "{{.State.Health.Status}}", c.name])).trim();
        if (status === "healthy") {
            return;
        }
        await new Promise((r) => setTimeout(r, 250));
    }
    const logs = await docker(["logs", "--tail", "20", c.name]);
    throw new Error(`${c.name} is ${status}, not healthy, after ${c.waitHealthySeconds}s; last log lines:\n${logs.stdout}${logs.stderr}`);
}

/** Removes every container, network and volume of the plan; the image stays. Returns what was left. */
export async function teardown(plan: DockerPlan): Promise<string[]> {
    const containers = plan.containers.map((c) => c.name);
    if (containers.length > 0) {
        await docker(["rm", "--force", "--volumes", ...containers]);
    }
    for (const n of plan.networks) {
        await docker(["network", "rm", n.name]);
    }
    for (const v of plan.volumes) {
        await docker(["volume", "rm", "--force", v.name]);
    }
    return leftovers(plan);
}

async function leftovers(plan: DockerPlan): Promise<string[]> {
    const left: string[] = [];
    for (const c of plan.containers) {
        if ((await docker(["container", "inspect", c.name])).code === 0) left.push(`container ${c.name}`);
    }
    for (const n of plan.networks) {
        if ((await docker(["network", "inspect", n.name])).code === 0) left.push(`network ${n.name}`);
    }
    for (const v of plan.volumes) {
        if ((await docker(["volume", "inspect", v.name])).code === 0) left.push(`volume ${v.name}`);
    }
    return left;
}
