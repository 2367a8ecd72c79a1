// Failover across datacenters: the stack's prepared query template in every datacenter, over DNS from
// the host with no token; the failover demo, run to its end and interrupted; and the failoverQueries key.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { dockerOk } from "../support/docker";
import { echo, engineEnv, tierStack } from "../support/engine";
import { run, start } from "../support/process";
import { projectRoot } from "../support/program";
import { api, dnsA as ask } from "./consul-cli";
import type { Cluster } from "./state";
import { eventually } from "./wait";

const dc1Web = ["dc1-web-1", "dc1-web-2"];
const webAddrs = { dc1: ["10.201.1.201", "10.201.1.202"], dc2: ["10.201.2.201"] };

const demo = ["run", "--silent", "demo:failover", "--", "--stack", tierStack];

async function dc1WebRunning(): Promise<boolean> {
    const states = await Promise.all(
        dc1Web.map(async (c) => (await dockerOk(["inspect", "--format", "{{.State.Running}}", c])).trim()),
    );
    return states.every((s) => s === "true");
}

export function failoverTests(cluster: () => Cluster): void {
    describe("failover across datacenters", () => {
        let dnsAddrs: Record<string, string>;

        test("<service>.query.consul answers, without a token, with each datacenter's own passing instances", async () => {
            dnsAddrs = (await cluster().stack.outputs()).dnsAddrs.value as Record<string, string>;
            // The tests before restart dc1's client, whose service checks start out critical: wait for both to pass.
            await eventually("dc1's web instances passing", 30, async () =>
                (await ask(dnsAddrs.dc1, "web.service.consul")).join() === webAddrs.dc1.join() ? true : undefined,
            );
            assert.deepEqual(await ask(dnsAddrs.dc1, "web.query.consul"), webAddrs.dc1);
            assert.deepEqual(await ask(dnsAddrs.dc2, "web.query.consul"), webAddrs.dc2);
        });

        test("npm run demo:failover: dc1's DNS answers with dc2's instance once dc1's are stopped, and with dc1's once they are back", async () => {
            const result = await run("npm", demo, { cwd: projectRoot, env: engineEnv(), timeoutMs: 180_000 });
            echo("  demo |")(result.out);
            assert.equal(result.code, 0, result.out);
            assert.match(
                result.out,
                /web\.query\.consul at dc1's DNS \(127\.0\.0\.1:8600\) answers with dc1's instances: 10\.201\.1\.201, 10\.201\.1\.202/,
            );
            assert.match(
                result.out,
                /failover: after \d+ ms dc1's DNS answers with another datacenter's instances: 10\.201\.2\.201/,
            );
            assert.match(
                result.out,
                /failback: after \d+ ms dc1's DNS answers with dc1's instances again: 10\.201\.1\.201, 10\.201\.1\.202/,
            );
            assert.ok(await dc1WebRunning(), "the demo leaves dc1's instances running");
        });

        test("npm run demo:failover interrupted while dc1's instances are stopped: it starts them again", async () => {
            // The demo's own process, as Ctrl-C in a terminal signals it (npm would relay the signal).
            const running = start(
                process.execPath,
                ["--import", "tsx", "scripts/failover-demo.ts", "--stack", tierStack],
                { cwd: projectRoot, env: engineEnv(), timeoutMs: 180_000 },
            );
            await eventually("the demo stopping dc1's instances", 60, async () =>
                running.out().includes("stopped dc1-web") ? true : undefined,
            );
            running.kill("SIGINT");
            const result = await running.finished;
            echo("  demo |")(result.out);
            assert.match(result.out, /interrupted: dc1-web-1, dc1-web-2 started again/);
            assert.ok(await dc1WebRunning(), "dc1's instances run again");
            await eventually("dc1's DNS answering with dc1's instances again", 60, async () =>
                (await ask(dnsAddrs.dc1, "web.query.consul")).join() === webAddrs.dc1.join() ? true : undefined,
            );
        });

        test("failoverQueries false removes the template from every datacenter; true makes it again", async () => {
            const c = cluster();
            const queries = async (dc: string) => {
                const res = await api(c.httpAddrs.dc1, `/v1/query?dc=${dc}`, { ca: c.ca, token: c.token });
                assert.equal(res.status, 200, res.body);
                return (JSON.parse(res.body) as { Template: { Type: string } }[]).filter(
                    (q) => q.Template.Type === "name_prefix_match",
                ).length;
            };
            await c.stack.setConfig("failoverQueries", { value: "false" });
            try {
                const off = await c.stack.up({ onOutput: echo("  failover off |") });
                assert.equal(off.summary.resourceChanges?.delete, 2);
                assert.deepEqual([await queries("dc1"), await queries("dc2")], [0, 0]);
                assert.deepEqual(await ask(dnsAddrs.dc1, "web.query.consul"), [], "no template, no answer");
            } finally {
                await c.stack.removeConfig("failoverQueries");
            }
            const on = await c.stack.up({ onOutput: echo("  failover on |") });
            assert.equal(on.summary.resourceChanges?.create, 2);
            assert.deepEqual([await queries("dc1"), await queries("dc2")], [1, 1]);
            assert.deepEqual(await ask(dnsAddrs.dc1, "web.query.consul"), webAddrs.dc1);
        });
    });
}
