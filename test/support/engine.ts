// The real Pulumi engine, driven through the Automation API: a LocalWorkspace on the project directory,
// a file backend in a temp dir, a passphrase secrets provider, and a stack whose settings file is YAML
// (a copy of Pulumi.dev.yaml unless given), so the CLI loads its config exactly as for a user.
// The cluster tier and the benchmark both use it.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, type OpMap, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { stackName as devStack, projectRoot } from "./program";

/** The tier's own stack name; it is also the `consul.stack` label on everything the stack creates. */
export const tierStack = "cluster-tier";
/** Backend and passphrase, shared by every stack made here; kept with KEEP_CLUSTER=1 so `npm run cluster:down` can destroy the tier's stack. */
export const stateDir = path.join(os.tmpdir(), "consul-multi-dc-cluster-tier");
const settingsFile = (stack: string) => path.join(projectRoot, `Pulumi.${stack}.yaml`);
export const devSettings = () => fs.readFileSync(path.join(projectRoot, `Pulumi.${devStack}.yaml`), "utf8");
const pulumiHome = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");

/** The `pulumi` on PATH, else the one in ~/.pulumi/bin where scripts/ensure-pulumi.sh installs it. */
export async function findPulumi(): Promise<PulumiCommand | undefined> {
    for (const root of [undefined, pulumiHome]) {
        try {
            return await PulumiCommand.get(root ? { root } : {});
        } catch {
            // not there: try the next place
        }
    }
    return undefined;
}

function passphrase(): string {
    const file = path.join(stateDir, "passphrase");
    if (!fs.existsSync(file)) {
        fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, randomBytes(24).toString("base64"), { mode: 0o600 });
    }
    return fs.readFileSync(file, "utf8");
}

/** The environment that points the CLI at the tier's backend, for programs that run `pulumi` themselves. */
export function engineEnv(): Record<string, string> {
    const backend = path.join(stateDir, "backend");
    fs.mkdirSync(backend, { recursive: true, mode: 0o700 });
    return {
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: passphrase(),
        PULUMI_SKIP_UPDATE_CHECK: "1",
        // Offline: a missing plugin must fail loudly, not start a download.
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

async function workspace(pulumi: PulumiCommand): Promise<LocalWorkspace> {
    return LocalWorkspace.create({ workDir: projectRoot, pulumiCommand: pulumi, envVars: engineEnv() });
}

/** Creates a stack afresh whose settings file holds `settings` (YAML), by default Pulumi.dev.yaml verbatim. */
export async function createStack(pulumi: PulumiCommand, name = tierStack, settings = devSettings()): Promise<Stack> {
    fs.writeFileSync(settingsFile(name), settings);
    const ws = await workspace(pulumi);
    await ws.createStack(name);
    return Stack.select(name, ws);
}

/** The named stack if the backend still holds it. */
export async function existingStack(pulumi: PulumiCommand, name = tierStack): Promise<Stack | undefined> {
    if (!fs.existsSync(path.join(stateDir, "backend"))) {
        return undefined;
    }
    const ws = await workspace(pulumi);
    const stacks = await ws.listStacks();
    return stacks.some((s) => s.name === name) ? Stack.select(name, ws) : undefined;
}

/** Removes the stack and its settings file, and the backend once it holds no stack; the containers must be gone already. */
export async function removeStack(stack: Stack): Promise<void> {
    await stack.workspace.removeStack(stack.name, { force: true });
    fs.rmSync(settingsFile(stack.name), { force: true });
    if ((await stack.workspace.listStacks()).length === 0) {
        fs.rmSync(stateDir, { recursive: true, force: true });
    }
}

/** A stack's checkpoint as the file backend stores it (JSON text), as anyone with the file would read it. */
export function rawState(name = tierStack): string {
    const stacks = path.join(stateDir, "backend", ".pulumi", "stacks");
    const found = fs
        .readdirSync(stacks, { recursive: true, encoding: "utf8" })
        .find((f) => path.basename(f) === `${name}.json`);
    if (!found) {
        throw new Error(`no ${name}.json under ${stacks}`);
    }
    return fs.readFileSync(path.join(stacks, found), "utf8");
}

/** Operations other than "same" in an engine summary, e.g. {create: 52}; empty means no changes. */
export function changes(summary: OpMap | undefined): OpMap {
    return Object.fromEntries(Object.entries(summary ?? {}).filter(([op, n]) => op !== "same" && n)) as OpMap;
}

/** Engine output, indented, into the test log: the engine's own words are the evidence. */
export function echo(prefix: string): (line: string) => void {
    return (out) => process.stdout.write(out.replace(/^(?=.)/gm, `${prefix} `));
}
