// Declares the real program's resources, creates exactly those on the Docker Engine, and removes them.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ComputeState, ProgramRun, runProgram, stackConfig } from "../support/program";
import { docker, dockerOk } from "./docker";
import { DockerPlan, translate } from "./translate";

/** Computed values as the real providers make them: real random bytes, the real local image ID. */
const realState: ComputeState = async (type, _name, inputs) => {
    switch (type) {
        case "random:index/randomBytes:RandomBytes": {
            const bytes = randomBytes(inputs.length as number);
            return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
        }
        case "docker:index/remoteImage:RemoteImage": {
            const id = await docker(["image", "inspect", "--format", "{{.Id}}", inputs.name as string]);
            if (id.code !== 0) {
                throw new Error(`image ${inputs.name} is not on this Docker host: run scripts/ensure-consul-image.sh`);
            }
            return { imageId: id.stdout.trim(), repoDigest: "" };
        }
        default:
            return {};
    }
};

export interface DeclaredCluster {
    readonly run: ProgramRun;
    readonly plan: DockerPlan;
}

export async function declareCluster(): Promise<DeclaredCluster> {
    const run = await runProgram({ config: stackConfig(), computeState: realState });
    return { run, plan: translate(run.resources) };
}

/** Creates networks, volumes and containers, copies uploads in, connects networks, then starts them all. */
export async function applyPlan(plan: DockerPlan): Promise<{ lastStartedAt: number }> {
    for (const image of plan.images) {
        await dockerOk(["image", "inspect", image]);
    }
    for (const step of [...plan.networks, ...plan.volumes]) {
        await dockerOk(step.args);
    }
    // Upload content may hold secrets: it goes through a private temp dir, never through argv or logs.
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "consul-uploads-"));
    try {
        for (const c of plan.containers) {
            await dockerOk(c.createArgs);
            for (const [i, upload] of c.uploads.entries()) {
                const local = path.join(staging, `${c.name}-${i}`);
                fs.writeFileSync(local, upload.content, { mode: 0o644 });
                await dockerOk(["cp", local, `${c.name}:${upload.file}`]);
                fs.rmSync(local);
            }
            for (const args of c.connectArgs) {
                await dockerOk(args);
            }
        }
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
    // Pulumi creates independent containers concurrently; start them together the same way.
    await Promise.all(plan.containers.map((c) => dockerOk(["start", c.name])));
    return { lastStartedAt: Date.now() };
}

/** `wait: true`: every such container becomes healthy within its timeout, as `pulumi up` requires. */
export async function waitHealthy(plan: DockerPlan): Promise<void> {
    await Promise.all(
        plan.containers
            .filter((c) => c.waitHealthySeconds !== undefined)
            .map(async (c) => {
                const deadline = Date.now() + (c.waitHealthySeconds as number) * 1000;
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
            }),
    );
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

export async function leftovers(plan: DockerPlan): Promise<string[]> {
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
