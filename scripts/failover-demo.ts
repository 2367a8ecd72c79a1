// `npm run demo:failover -- [--stack NAME] [--service web] [--dc dc1]`: failover across datacenters, on a
// running stack. Asks dc1's DNS for <service>.query.consul (the stack's failover query template), stops
// dc1's instances of the service, times how long until the same DNS answers with another datacenter's,
// starts them again and times the way back. The instances are started again however the demo ends.
import { execFileSync } from "node:child_process";
import { Resolver } from "node:dns/promises";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { runDocker } from "./project-stack";
import { projectRoot } from "./stack-config";

const { values } = parseArgs({ options: { stack: { type: "string" }, service: { type: "string", default: "web" }, dc: { type: "string", default: "dc1" } } });
const service = values.service as string;
const dc = values.dc as string;

// The instances this demo stopped, started again however it ends.
let stopped: string[] = [];
function restore(): void {
    if (stopped.length > 0) {
        runDocker(["start", ...stopped]);
        stopped = [];
    }
}

function say(message: string): void {
    console.log(`demo:failover: ${message}`);
}

function fail(message: string): never {
    restore();
    console.error(`demo:failover: ${message}`);
    process.exit(1);
}

const outputs = (() => {
    try {
        const text = execFileSync("bash", [path.join(projectRoot, "scripts", "pulumi.sh"), "stack", "output", "--json", ...(values.stack ? ["--stack", values.stack] : [])], {
            cwd: projectRoot,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        return JSON.parse(text) as { dnsAddrs?: Record<string, string> };
    } catch (e) {
        return fail(`cannot read the stack outputs (${String((e as { stderr?: string }).stderr ?? e).trim().split("\n").pop()}); is the stack up? (npm start)`);
    }
})();
const dnsAddr = outputs.dnsAddrs?.[dc] ?? fail(`the stack has no datacenter ${dc}`);
const stack = values.stack ?? "dev";

// The service's instances in the datacenter, by the labels the stack gives its containers.
const instances = runDocker(["ps", "-a", "--filter", `label=consul.stack=${stack}`, "--filter", `label=consul.datacenter=${dc}`, "--filter", `label=consul.service=${service}`, "--format", "{{.Names}}"])
    .stdout.trim().split("\n").filter(Boolean).sort();
if (instances.length === 0) {
    fail(`${dc} runs no ${service} instance of the stack ${stack} on this Docker host`);
}
const addressOf = (container: string) => runDocker(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container]).stdout.trim();
const local = new Set(instances.map(addressOf));

const resolver = new Resolver({ timeout: 1000, tries: 1 });
const [host, port] = dnsAddr.split(":");
resolver.setServers([`${host}:${port}`]);
const name = `${service}.query.consul`;
const answer = () => resolver.resolve4(name).then((a) => a.sort(), () => [] as string[]);
// Every one of the datacenter's instances, and nothing else.
const fromHere = (a: string[]) => a.length === local.size && a.every((ip) => local.has(ip));
const fromElsewhere = (a: string[]) => a.length > 0 && a.every((ip) => !local.has(ip));

/** Polls DNS every 100 ms until `wanted`; how long it took, and the answer. */
async function until(wanted: (a: string[]) => boolean, seconds: number): Promise<{ ms: number; addresses: string[] }> {
    const began = Date.now();
    for (;;) {
        const a = await answer();
        if (wanted(a)) return { ms: Date.now() - began, addresses: a };
        if (Date.now() - began > seconds * 1000) fail(`no such answer for ${name} within ${seconds} s (last: ${a.join(", ") || "none"})`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
        restore();
        say(`interrupted: ${instances.join(", ")} started again`);
        process.exit(130);
    });
}

async function main(): Promise<void> {
    const before = await until(fromHere, 30);
    say(`${name} at ${dc}'s DNS (${dnsAddr}) answers with ${dc}'s instances: ${before.addresses.join(", ")}`);
    stopped = instances;
    if (runDocker(["stop", "--time", "0", ...instances]).code !== 0) fail(`could not stop ${instances.join(", ")}`);
    say(`stopped ${instances.join(", ")}`);
    const over = await until(fromElsewhere, 60);
    say(`failover: after ${over.ms} ms ${dc}'s DNS answers with another datacenter's instances: ${over.addresses.join(", ")}`);
    if (runDocker(["start", ...instances]).code !== 0) fail(`could not start ${instances.join(", ")} again`);
    stopped = [];
    say(`started ${instances.join(", ")} again`);
    const back = await until(fromHere, 60);
    say(`failback: after ${back.ms} ms ${dc}'s DNS answers with ${dc}'s instances again: ${back.addresses.join(", ")}`);
}

main().catch((e) => {
    fail(e instanceof Error ? e.message : String(e));
});
