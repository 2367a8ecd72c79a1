// Cluster tier: the containers index.ts declares, created on a real Docker Engine running real Consul,
// then probed with Consul's CLI and API and a real browser.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { projectRoot, stackConfig, valueOf } from "../support/program";
import { api, consul, keyring, members, raftPeers, reaches } from "./consul-cli";
import { docker, dockerOk } from "./docker";
import { applyPlan, DeclaredCluster, declareCluster, teardown, waitHealthy } from "./lifecycle";
import { checkPrerequisites, chromiumPath } from "./prerequisites";

const artifacts = path.join(projectRoot, "test-artifacts");
const keep = process.env.KEEP_CLUSTER === "1";

let cluster: DeclaredCluster;
let uiUrls: Record<string, string>;
let httpAddrs: Record<string, string>;
let gossipKey: string;
const extraAgents: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined) {
                return value;
            }
        } catch (e) {
            last = e;
        }
        await sleep(200);
    }
    throw new Error(`${what} did not happen within ${seconds}s${last instanceof Error ? `: ${last.message}` : ""}`);
}

/** Both leaders, all WAN servers alive, and a KV key written in dc1 read back through dc2. */
async function converged(): Promise<true | undefined> {
    for (const addr of Object.values(httpAddrs)) {
        const leader = await api(addr, "/v1/status/leader");
        if (leader.status !== 200 || !leader.body.includes(":8300")) return undefined;
    }
    const wan = await members("dc1-server1", "-wan");
    if (wan.filter((m) => m.status === "alive").length !== 4) return undefined;
    const stamp = String(Date.now());
    if ((await api(httpAddrs.dc1, "/v1/kv/probe/converged", { method: "PUT", body: stamp })).status !== 200) return undefined;
    const read = await api(httpAddrs.dc2, "/v1/kv/probe/converged?dc=dc1&raw");
    return read.status === 200 && read.body === stamp ? true : undefined;
}

before(async () => {
    const image = stackConfig().image as string;
    await checkPrerequisites(image);
    cluster = await declareCluster();
    // A cluster kept from an earlier run (KEEP_CLUSTER=1) would collide with this one.
    await teardown(cluster.plan);
    uiUrls = (await valueOf(cluster.run.outputs.uiUrls)) as Record<string, string>;
    httpAddrs = (await valueOf(cluster.run.outputs.httpAddrs)) as Record<string, string>;
    gossipKey = (await valueOf(cluster.run.outputs.gossipKey)) as string;

    const { lastStartedAt } = await applyPlan(cluster.plan);
    await waitHealthy(cluster.plan);
    await eventually("convergence (both leaders, 4 WAN servers, cross-DC KV read)", 120, converged);
    console.log(`converged in ${Date.now() - lastStartedAt} ms`);
});

after(async () => {
    for (const name of extraAgents) {
        await docker(["rm", "--force", "--volumes", name]);
    }
    if (!cluster) {
        return;
    }
    if (keep) {
        console.log("KEEP_CLUSTER=1: the cluster keeps running; `npm run cluster:down` removes it");
        return;
    }
    const left = await teardown(cluster.plan);
    assert.deepEqual(left, [], "teardown must leave no containers, networks or volumes");
});

describe("LAN membership and Raft", () => {
    test("dc1 `consul members` shows 3 servers and 1 client, all alive", async () => {
        const dc1 = (await members("dc1-client1")).filter((m) => m.status === "alive");
        assert.deepEqual(dc1.map((m) => `${m.node} ${m.type} ${m.dc}`).sort(), [
            "dc1-client1 client dc1",
            "dc1-server1 server dc1",
            "dc1-server2 server dc1",
            "dc1-server3 server dc1",
        ]);
    });

    test("dc2 `consul members` shows 1 server and 1 client, all alive", async () => {
        const dc2 = (await members("dc2-client1")).filter((m) => m.status === "alive");
        assert.deepEqual(dc2.map((m) => `${m.node} ${m.type} ${m.dc}`).sort(), ["dc2-client1 client dc2", "dc2-server1 server dc2"]);
    });

    test("dc1 Raft has 3 voters and one leader; dc2 has a leader", async () => {
        const dc1 = await raftPeers("dc1-server1");
        assert.equal(dc1.filter((p) => p.voter).length, 3, "dc1 voters");
        assert.equal(dc1.filter((p) => p.state === "leader").length, 1, "dc1 leader");
        const dc2 = await raftPeers("dc2-server1");
        assert.deepEqual(dc2.map((p) => `${p.node} ${p.state}`), ["dc2-server1 leader"]);
    });
});

describe("WAN federation", () => {
    test("`consul members -wan` shows the 4 servers of both DCs, alive", async () => {
        for (const from of ["dc1-server1", "dc2-server1"]) {
            const wan = await members(from, "-wan");
            assert.deepEqual(
                wan.filter((m) => m.status === "alive").map((m) => m.node).sort(),
                ["dc1-server1.dc1", "dc1-server2.dc1", "dc1-server3.dc1", "dc2-server1.dc2"],
                `WAN pool as seen from ${from}`,
            );
        }
    });

    test("a dc2 client lists both datacenters", async () => {
        assert.deepEqual((await consul("dc2-client1", "catalog", "datacenters")).trim().split(/\s+/).sort(), ["dc1", "dc2"]);
    });

    test("a KV key written in dc1 is read from dc2 with -datacenter=dc1", async () => {
        const value = `written-in-dc1-${Date.now()}`;
        await consul("dc1-client1", "kv", "put", "probe/cross-dc", value);
        assert.equal((await consul("dc2-client1", "kv", "get", "-datacenter=dc1", "probe/cross-dc")).trim(), value);
    });

    test("a service registered on the dc1 client is found from dc2 with ?dc=dc1", async () => {
        await consul("dc1-client1", "services", "register", "-name=probe-web", "-port=8080");
        const found = await eventually("probe-web in dc1's catalog, read through dc2", 20, async () => {
            const res = await api(httpAddrs.dc2, "/v1/catalog/service/probe-web?dc=dc1");
            const entries = JSON.parse(res.body) as { Node: string; ServicePort: number; Datacenter: string }[];
            return entries.length > 0 ? entries : undefined;
        });
        assert.deepEqual(found.map((e) => `${e.Node} ${e.ServicePort} ${e.Datacenter}`), ["dc1-client1 8080 dc1"]);
    });
});

describe("network isolation", () => {
    test("a dc2 client is only on dc2's LAN and cannot reach dc1's LAN", async () => {
        const networks = JSON.parse(await dockerOk(["inspect", "--format", "{{json .NetworkSettings.Networks}}", "dc2-client1"]));
        assert.deepEqual(Object.keys(networks), ["dc2-lan"]);
        assert.equal(await reaches("dc2-client1", "10.201.2.11", 8500), true, "control: dc2-client1 reaches its own server");
        for (const address of ["10.201.1.11", "10.201.1.101", "10.201.0.11"]) {
            assert.equal(await reaches("dc2-client1", address, 8500), false, `dc2-client1 must not reach ${address}`);
        }
    });
});

describe("gossip encryption", () => {
    test("`consul keyring -list` shows the one stack key on every member of every pool", async () => {
        const pools = await keyring("dc1-server1");
        const expected = new Map([["WAN", 4], ["dc1 (LAN)", 4], ["dc2 (LAN)", 2]]);
        assert.deepEqual([...pools.keys()].sort(), [...expected.keys()].sort());
        for (const [pool, keys] of pools) {
            assert.equal(keys.length, 1, `${pool} holds exactly one key`);
            // Compared without printing: the key is a secret.
            assert.ok(keys[0].key === gossipKey, `${pool} key is not the stack's gossipKey output`);
            assert.deepEqual([keys[0].held, keys[0].of], [expected.get(pool), expected.get(pool)], `${pool} members holding it`);
        }
    });

    /** An extra client on dc1's LAN with the given gossip config; returns whether dc1's servers see it alive. */
    async function extraAgentJoins(name: string, address: string, gossip: object | undefined): Promise<boolean> {
        const image = (await dockerOk(["inspect", "--format", "{{.Image}}", "dc1-client1"])).trim();
        extraAgents.push(name);
        await dockerOk([
            "create", "--name", name, "--user", "consul", "--network", "dc1-lan", "--ip", address,
            "--entrypoint", "/bin/consul", image, "agent", "-config-dir=/consul/config",
            "-datacenter=dc1", `-node=${name}`, "-data-dir=/consul/data", "-bind=0.0.0.0", `-advertise=${address}`,
            "-retry-join=10.201.1.11", "-retry-interval=1s",
        ]);
        if (gossip) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-probe-"));
            fs.writeFileSync(path.join(dir, "gossip.json"), JSON.stringify(gossip), { mode: 0o644 });
            await dockerOk(["cp", path.join(dir, "gossip.json"), `${name}:/consul/config/gossip.json`]);
            fs.rmSync(dir, { recursive: true });
        }
        await dockerOk(["start", name]);
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
            if ((await members("dc1-server1")).some((m) => m.node === name && m.status === "alive")) {
                return true;
            }
            await sleep(500);
        }
        return false;
    }

    test("an agent with no gossip key, or another key, cannot join; one with the stack key can", async () => {
        assert.equal(await extraAgentJoins("probe-no-key", "10.201.1.201", undefined), false, "an agent without a key joined dc1");
        const otherKey = randomBytes(32).toString("base64");
        assert.equal(await extraAgentJoins("probe-other-key", "10.201.1.202", { encrypt: otherKey }), false, "an agent with another key joined dc1");
        // Control: the same probe with the stack's key joins, so the refusals above are the key's doing.
        assert.equal(await extraAgentJoins("probe-stack-key", "10.201.1.203", { encrypt: gossipKey }), true, "the control agent with the stack key did not join");
        // A graceful stop makes the control agent leave and deregister, so dc1 is back to its 4 nodes.
        await dockerOk(["stop", "--time", "10", "probe-stack-key"]);
        for (const name of extraAgents.splice(0)) {
            await docker(["rm", "--force", "--volumes", name]);
        }
        await eventually("the control agent leaving dc1's catalog", 30, async () =>
            (await api(httpAddrs.dc1, "/v1/catalog/node/probe-stack-key")).body.trim() === "null" ? true : undefined,
        );
    });
});

describe("UI", () => {
    test("each uiUrls output answers from the host with the Consul UI", async () => {
        for (const [dc, url] of Object.entries(uiUrls)) {
            const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
            assert.equal(response.status, 200, `${dc}: ${url}`);
            assert.match(await response.text(), /consul-ui/, `${dc}: ${url} is not the Consul UI`);
        }
    });

    test("a headless Chromium shows both datacenters in the picker, dc1's 4 nodes and dc2's 2", async () => {
        fs.mkdirSync(artifacts, { recursive: true });
        const browser = await chromium.launch({
            executablePath: chromiumPath,
            args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        try {
            for (const [dc, url] of Object.entries(uiUrls)) {
                const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
                await page.goto(`${url}/nodes`);
                const expectedNodes = dc === "dc1" ? ["dc1-server1", "dc1-server2", "dc1-server3", "dc1-client1"] : ["dc2-server1", "dc2-client1"];
                for (const node of expectedNodes) {
                    await page.getByRole("link", { name: node, exact: true }).waitFor({ timeout: 20_000 });
                }
                assert.equal((await page.getByText(/^\d+ total$/).innerText()).trim(), `${expectedNodes.length} total`, `${dc} nodes list count`);
                // The datacenter picker in the side bar lists every WAN-federated datacenter.
                await page.getByRole("button", { name: dc, exact: true }).click();
                await page.getByText("WAN federated datacenters").waitFor({ timeout: 10_000 });
                const items = (await page.locator("li", { hasText: /^\s*dc\d/ }).allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
                assert.ok(items.some((t) => t.startsWith("dc1 Primary")), `${dc} picker lists dc1 as primary: ${items.join(" | ")}`);
                assert.ok(items.some((t) => t.startsWith("dc2")), `${dc} picker lists dc2: ${items.join(" | ")}`);
                await page.screenshot({ path: path.join(artifacts, `ui-${dc}.png`) });
                await page.close();
            }
        } finally {
            await browser.close();
        }
    });
});
