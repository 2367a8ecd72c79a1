// Using the cluster: the demo services, the KV seed, DNS from the host, the app token, the example app
// and scripts/join-agent.sh.
import assert from "node:assert/strict";
import { promises as dns } from "node:dns";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { docker, dockerOk } from "../support/docker";
import { changes, echo, engineEnv } from "../support/engine";
import { start } from "../support/process";
import { projectRoot } from "../support/program";
import { api } from "./consul-cli";
import { runScript } from "./run-script";
import type { Cluster } from "./state";
import { eventually, healthyAgain } from "./wait";

export function usingTheClusterTests(cluster: () => Cluster): void {
    describe("demo services, KV seed, DNS and the example app", () => {
        const kvSeed = JSON.parse(
            fs.readFileSync(path.join(projectRoot, "consul-config", "kv", "dev.json"), "utf8"),
        ) as Record<string, string>;
        const expected: Record<string, string[]> = {
            dc1: ["10.201.1.201:8080", "10.201.1.202:8080"],
            dc2: ["10.201.2.201:8080"],
        };
        const passing = async (via: string, dc: string) => {
            const { httpAddrs, ca, token } = cluster();
            const res = await api(httpAddrs[via], `/v1/health/service/web?passing=1&dc=${dc}`, { ca, token });
            assert.equal(res.status, 200, `health of web in ${dc} through ${via}`);
            return (JSON.parse(res.body) as { Service: { Address: string; Port: number } }[])
                .map((e) => `${e.Service.Address}:${e.Service.Port}`)
                .sort();
        };

        test("every demo instance is passing in its own DC's catalog, and is found from the other DC over HTTP", async () => {
            for (const [dc, addresses] of Object.entries(expected)) {
                assert.deepEqual(
                    await eventually(`web passing in ${dc}`, 30, async () => {
                        const found = await passing(dc, dc);
                        return found.length === addresses.length ? found : undefined;
                    }),
                    addresses,
                );
                const other = dc === "dc1" ? "dc2" : "dc1";
                assert.deepEqual(await passing(other, dc), addresses, `web in ${dc} asked through ${other}`);
            }
        });

        test("DNS from the host, without a token: web.service.consul on each DC's port, and across DCs", async () => {
            const ask = async (dnsAddr: string, name: string) => {
                const [host, port] = dnsAddr.split(":");
                const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
                resolver.setServers([`${host}:${port}`]);
                return (await resolver.resolve4(name)).sort();
            };
            const addrs = Object.fromEntries(
                Object.entries(expected).map(([dc, a]) => [dc, a.map((x) => x.split(":")[0])]),
            );
            const dnsAddrs = (await cluster().stack.outputs()).dnsAddrs.value as Record<string, string>;
            assert.deepEqual(await ask(dnsAddrs.dc1, "web.service.consul"), addrs.dc1);
            assert.deepEqual(await ask(dnsAddrs.dc2, "web.service.consul"), addrs.dc2);
            assert.deepEqual(
                await ask(dnsAddrs.dc2, "web.service.dc1.consul"),
                addrs.dc1,
                "dc1's web asked through dc2's DNS port",
            );
            assert.deepEqual(
                await ask(dnsAddrs.dc1, "web.service.dc2.consul"),
                addrs.dc2,
                "dc2's web asked through dc1's DNS port",
            );
        });

        test("the KV seed is in the primary; anonymous KV, ACL and write requests stay denied", async () => {
            const { httpAddrs, ca, token } = cluster();
            for (const [key, value] of Object.entries(kvSeed)) {
                const res = await api(httpAddrs.dc1, `/v1/kv/${key}?raw`, { ca, token });
                assert.deepEqual([res.status, res.body], [200, value], key);
            }
            const [first] = Object.keys(kvSeed);
            assert.equal((await api(httpAddrs.dc1, `/v1/kv/${first}`, { ca })).status, 403, "anonymous KV read");
            assert.equal(
                (await api(httpAddrs.dc2, `/v1/kv/${first}?dc=dc1`, { ca })).status,
                403,
                "anonymous KV read through dc2",
            );
            assert.equal(
                (await api(httpAddrs.dc1, "/v1/kv/anon-write", { ca, method: "PUT", body: "x" })).status,
                403,
                "anonymous KV write",
            );
            assert.equal((await api(httpAddrs.dc1, "/v1/acl/tokens", { ca })).status, 403, "anonymous ACL read");
            const register = { Name: "anon-svc", Port: 1 };
            assert.equal(
                (
                    await api(httpAddrs.dc1, "/v1/agent/service/register", {
                        ca,
                        method: "PUT",
                        body: JSON.stringify(register),
                    })
                ).status,
                403,
                "anonymous service registration",
            );
        });

        test("the appToken output is least privilege: reads web and its KV prefix, nothing else, writes nothing", async () => {
            const c = cluster();
            const { httpAddrs, ca } = c;
            const appToken = (await c.stack.outputs()).appToken;
            assert.equal(appToken.secret, true, "appToken is a secret output");
            const token = appToken.value as string;
            const [first] = Object.keys(kvSeed);
            assert.equal((await api(httpAddrs.dc1, `/v1/kv/${first}`, { ca, token })).status, 200, "its own KV prefix");
            assert.equal(
                (await api(httpAddrs.dc2, `/v1/health/service/web?dc=dc1`, { ca, token })).status,
                200,
                "the demo service across DCs",
            );
            await api(httpAddrs.dc1, "/v1/kv/probe/other", { ca, token: c.token, method: "PUT", body: "x" });
            assert.equal(
                (await api(httpAddrs.dc1, "/v1/kv/probe/other", { ca, token })).status,
                403,
                "another KV prefix",
            );
            assert.equal(
                (await api(httpAddrs.dc1, `/v1/kv/${first}`, { ca, token, method: "PUT", body: "x" })).status,
                403,
                "a KV write",
            );
            assert.equal((await api(httpAddrs.dc1, "/v1/acl/tokens", { ca, token })).status, 403, "ACL reads");
        });

        const example = (args: string[], env: Record<string, string> = {}) =>
            start(
                process.execPath,
                [
                    "--import",
                    "tsx",
                    path.join(projectRoot, "examples", "app.ts"),
                    "--stack",
                    cluster().stack.name,
                    ...args,
                ],
                {
                    cwd: projectRoot,
                    env: { ...engineEnv(), ...env },
                },
            );

        test("`npm run example -- --once` prints the discovered address:port pairs in both DCs and the KV values", async () => {
            const { code, out } = await example(["--once"]).finished;
            console.log(out.replace(/^/gm, "  example | "));
            assert.equal(code, 0, out);
            assert.match(out, /^web in dc1 \(passing\): 10\.201\.1\.201:8080, 10\.201\.1\.202:8080$/m);
            assert.match(out, /^web in dc2 \(passing\): 10\.201\.2\.201:8080$/m);
            for (const [key, value] of Object.entries(kvSeed)) {
                assert.ok(out.includes(`  ${key.replace("example-app/config/", "")} = ${value}`), `${key} in: ${out}`);
            }
        });

        test("the watching example prints a key changed through the API within 2 s", async () => {
            const { httpAddrs, ca, token } = cluster();
            const key = "example-app/config/greeting";
            const child = example(["--dc", "dc2"]);
            const seen = (pattern: string) =>
                eventually(`"${pattern}" from the example`, 20, async () =>
                    child.out().includes(pattern) ? true : undefined,
                );
            try {
                await seen(`${key} = `);
                const value = `changed-${Date.now()}`;
                const sent = Date.now();
                assert.equal(
                    (await api(httpAddrs.dc1, `/v1/kv/${key}`, { ca, token, method: "PUT", body: value })).status,
                    200,
                );
                await seen(`${key} changed: ${value}`);
                const latency = Date.now() - sent;
                console.log(
                    `watch latency: ${latency} ms from the KV write in dc1 to the example's line (watching through dc2's local agent)`,
                );
                assert.ok(latency <= 2000, `the change took ${latency} ms to reach the example`);
            } finally {
                child.kill("SIGINT");
            }
        });

        test("scripts/join-agent.sh joins one more client agent to dc1 with the stack's key, CA and its own token, and removes it", async () => {
            const c = cluster();
            const run = (args: string[]) => runScript("join-agent.sh", ["--stack", c.stack.name, ...args]);
            const joined = await run([]);
            console.log(joined.out.replace(/^/gm, "  join-agent | "));
            assert.equal(joined.code, 0, joined.out);
            assert.match(joined.out, /^laptop-agent\s+\S+:8301\s+alive\s+client\s+1\.22\.7\s+2\s+dc1\s/m);
            assert.ok(
                !joined.out.includes(c.gossipKey) && !joined.out.includes(c.token),
                "no secret in the script's output",
            );
            assert.ok(
                (await c.consul.members("dc1-server1")).some((m) => m.node === "laptop-agent" && m.status === "alive"),
                "dc1's servers see it",
            );
            const removed = await run(["--remove"]);
            assert.equal(removed.code, 0, removed.out);
            assert.equal((await docker(["container", "inspect", "laptop-agent"])).code, 1, "the container is gone");
            assert.ok(!(await c.consul.members("dc1-server1")).some((m) => m.node === "laptop-agent"), "dc1 forgot it");
        });

        test("a user's KV change survives: a second `pulumi up` changes nothing, and the seed re-run by acl-init keeps it", async () => {
            const { stack, httpAddrs, ca, token } = cluster();
            const key = "example-app/config/db_pool_size";
            assert.equal(
                (await api(httpAddrs.dc1, `/v1/kv/${key}`, { ca, token, method: "PUT", body: "42" })).status,
                200,
            );
            const again = await stack.up({ onOutput: echo("  up again |") });
            assert.deepEqual(
                changes(again.summary.resourceChanges),
                {},
                "a second pulumi up on an unchanged stack changed something",
            );
            // Restarting acl-init runs its script, KV seed included, again.
            await dockerOk(["restart", "consul-acl-init"]);
            await healthyAgain("consul-acl-init");
            const read = await api(httpAddrs.dc1, `/v1/kv/${key}?raw`, { ca, token });
            assert.deepEqual([read.status, read.body], [200, "42"], "the seed reset a value the user changed");
        });

        test("the example refuses bad input clearly: an unknown DC, a wrong token, no agent answering", async () => {
            const unknownDc = await example(["--once", "--dc", "dc9"]).finished;
            assert.equal(unknownDc.code, 2, unknownDc.out);
            assert.match(unknownDc.out, /--dc dc9: the stack has no datacenter dc9; it has dc1, dc2/);

            const wrongToken = await example(["--once"], { CONSUL_HTTP_TOKEN: "00000000-1111-4222-8333-444444444444" })
                .finished;
            assert.equal(wrongToken.code, 1, wrongToken.out);
            assert.match(wrongToken.out, /refused the token \(403 .*ACL not found\)/);

            // The published address belongs to dc1's client; with it stopped, nothing answers there.
            await dockerOk(["stop", "--time", "10", "dc1-client1"]);
            try {
                const down = await example(["--once"]).finished;
                assert.equal(down.code, 1, down.out);
                assert.match(
                    down.out,
                    /no Consul agent answers at https:\/\/127\.0\.0\.1:8500 \(ECONNREFUSED\): is the cluster running/,
                );
            } finally {
                await dockerOk(["start", "dc1-client1"]);
                await healthyAgain("dc1-client1");
            }
        });
    });
}
