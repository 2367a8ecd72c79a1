// `npm run demo:failover -- [--stack NAME] [--service web] [--dc dc1] [--mesh]`: failover across datacenters,
// on a running stack. Asks dc1's DNS for <service>.query.consul (the stack's failover query template), stops
// dc1's instances of the service, times how long until the same DNS answers with another datacenter's,
// starts them again and times the way back. With --mesh it calls the stack's meshDemoUrl instead, which
// reaches the service through the mesh (mesh-failover.ts), and prints the window of failed calls. The
// instances are started again however the demo ends.
import { Resolver } from "node:dns/promises";
import { parseArgs } from "node:util";
import { dockerSync } from "./docker-cli";
import { callUntil, lastAnsweredBy, type MeshCall, summarize } from "./mesh-failover";
import { deployed, openStack } from "./stack-access";

const { values } = parseArgs({
    options: {
        stack: { type: "string" },
        service: { type: "string", default: "web" },
        dc: { type: "string", default: "dc1" },
        mesh: { type: "boolean", default: false },
    },
});
const service = values.service as string;
const dc = values.dc as string;

// The instances this demo stopped, started again however it ends.
let stopped: string[] = [];
let engine: string[] = [];
function restore(): void {
    if (stopped.length > 0) {
        dockerSync([...engine, "start", ...stopped]);
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

const { stack, dnsAddr, datacenter, meshDemoUrl } = (() => {
    try {
        const opened = openStack({ stack: values.stack });
        const outputs = deployed(opened);
        return {
            stack: opened,
            datacenter: opened.datacenter(dc),
            dnsAddr: outputs.dnsAddrs[dc],
            meshDemoUrl: outputs.meshDemoUrl,
        };
    } catch (e) {
        return fail((e as Error).message);
    }
})();
engine = stack.engine(dc);

// The service's instances in the datacenter, each a container on its Docker host, as the model lays them out.
const placed = datacenter.instances.filter((i) => i.service === service);
if (placed.length === 0) {
    fail(`${dc} runs no ${service} instance in the stack ${stack.name}`);
}
const instances = placed.map((i) => i.id).sort();
const local = new Set(placed.map((i) => i.address));

const resolver = new Resolver({ timeout: 1000, tries: 1 });
const [host, port] = dnsAddr.split(":");
resolver.setServers([`${host}:${port}`]);
const name = `${service}.query.consul`;
const answer = () =>
    resolver.resolve4(name).then(
        (a) => a.sort(),
        () => [] as string[],
    );
// Every one of the datacenter's instances, and nothing else.
const fromHere = (a: string[]) => a.length === local.size && a.every((ip) => local.has(ip));
const fromElsewhere = (a: string[]) => a.length > 0 && a.every((ip) => !local.has(ip));

/** Polls DNS every 100 ms until `wanted`; how long it took, and the answer. */
async function until(wanted: (a: string[]) => boolean, seconds: number): Promise<{ ms: number; addresses: string[] }> {
    const began = Date.now();
    for (;;) {
        const a = await answer();
        if (wanted(a)) return { ms: Date.now() - began, addresses: a };
        if (Date.now() - began > seconds * 1000)
            fail(`no such answer for ${name} within ${seconds} s (last: ${a.join(", ") || "none"})`);
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

function stop(): void {
    stopped = instances;
    if (dockerSync([...engine, "stop", "--time", "0", ...instances]).code !== 0)
        fail(`could not stop ${instances.join(", ")}`);
    say(`stopped ${instances.join(", ")}`);
}

function startAgain(): void {
    if (dockerSync([...engine, "start", ...instances]).code !== 0)
        fail(`could not start ${instances.join(", ")} again`);
    stopped = [];
    say(`started ${instances.join(", ")} again`);
}

const answeredBy = (calls: readonly MeshCall[]) =>
    Object.entries(summarize(calls).answers)
        .map(([instance, n]) => `${instance} ×${n}`)
        .join(", ");

async function meshMain(url: string): Promise<void> {
    const here = (d: string) => d === dc;
    const before =
        (await callUntil(url, lastAnsweredBy(5, here), 60)) ??
        fail(`${url} gave no 5 answers in a row from ${dc} within 60 s`);
    say(`${url} answers through the mesh from ${dc}: ${answeredBy(before.slice(-5))}`);
    stop();
    // Failed over: 20 answers in a row (2 s) from other datacenters, through the mesh gateways.
    const over =
        (await callUntil(
            url,
            lastAnsweredBy(20, (d) => !here(d)),
            60,
        )) ?? fail(`${url} gave no 20 answers in a row from another datacenter within 60 s`);
    const o = summarize(over);
    say(
        `failover: ${o.failed} of ${over.length} calls failed, over a window of ${o.windowMs} ms; ` +
            `then no failures, answered by ${answeredBy(over.slice(-20))}`,
    );
    const startedAt = Date.now();
    startAgain();
    const back =
        (await callUntil(url, lastAnsweredBy(10, here), 60)) ??
        fail(`${url} gave no 10 answers in a row from ${dc} within 60 s of starting its instances`);
    const b = summarize(back);
    const first = back.find((c) => c.datacenter === dc);
    say(
        `failback: after ${(first?.at ?? startedAt) - startedAt} ms ${dc}'s instances answer again, ` +
            `with ${b.failed} failed calls: ${answeredBy(back.slice(-10))}`,
    );
}

async function main(): Promise<void> {
    if (values.mesh) {
        if (!meshDemoUrl) fail(`the stack ${stack.name} has no meshDemoUrl output: turn the mesh on (mesh: true)`);
        return meshMain(meshDemoUrl);
    }
    const before = await until(fromHere, 30);
    say(`${name} at ${dc}'s DNS (${dnsAddr}) answers with ${dc}'s instances: ${before.addresses.join(", ")}`);
    stop();
    const over = await until(fromElsewhere, 60);
    say(
        `failover: after ${over.ms} ms ${dc}'s DNS answers with another datacenter's instances: ${over.addresses.join(", ")}`,
    );
    startAgain();
    const back = await until(fromHere, 60);
    say(`failback: after ${back.ms} ms ${dc}'s DNS answers with ${dc}'s instances again: ${back.addresses.join(", ")}`);
}

main().catch((e) => {
    fail(e instanceof Error ? e.message : String(e));
});
