// Cluster tier: the real program through the real Pulumi engine (Automation API) on a real Docker Engine
// running real Consul, probed with Consul's CLI and API and a real browser; then the engine must find
// nothing to change, and `pulumi destroy` must leave nothing behind but the image.
import assert from "node:assert/strict";
import { ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as dns } from "node:dns";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { OutputMap, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { chromium } from "playwright-core";
import { projectRoot, stackConfig } from "../support/program";
import { api, ConsulCli, reaches } from "./consul-cli";
import { copyFiles, docker, dockerOk, exec, fileIn, filesIn } from "../support/docker";
import { changes, createStack, echo, engineEnv, existingStack, rawState, removeStack } from "../support/engine";
import { checkPrerequisites, chromiumPath } from "./prerequisites";
import { leftovers, tearDown } from "../support/teardown";
import { dataTests } from "./data";
import { runScript } from "./run-script";
import { dayTwoTests, rolledImage } from "./day-two";
import { eventually, healthyAgain, sleep } from "./wait";

const artifacts = path.join(projectRoot, "test-artifacts");
const keep = process.env.KEEP_CLUSTER === "1";
const image = stackConfig().image as string;

let pulumi: PulumiCommand;
let stack: Stack;
let upStartedAt = 0;
let upError: Error | undefined;
let created = 0;
let uiUrls: Record<string, string>;
let httpAddrs: Record<string, string>;
let gossipKey: string;
let managementToken: string;
let ca: string;
let consul: ConsulCli;
const extraAgents: string[] = [];

type File = { file: string; content: Buffer };

before(async () => {
    pulumi = await checkPrerequisites(image);
    // A cluster kept from an earlier run (KEEP_CLUSTER=1) would collide with this one.
    const left = await tearDown(pulumi);
    assert.deepEqual(left, [], "an earlier run's cluster could not be removed");
    stack = await createStack(pulumi);

    // `pulumi up`, as a user runs it. A failure is kept for its own test below, so that the probes still
    // run and each names what is broken.
    upStartedAt = Date.now();
    try {
        const result = await stack.up({ onOutput: echo("  up |") });
        console.log(`pulumi up returned in ${Date.now() - upStartedAt} ms`);
        created = result.summary.resourceChanges?.create ?? 0;
        const out = result.outputs;
        useOutputs(out);
        assert.ok(out.gossipKey.secret && out.aclBootstrapToken.secret, "gossipKey and aclBootstrapToken must be secret outputs");
    } catch (e) {
        upError = e as Error;
    }
});

/** What the probes use from the stack outputs; a stack made again has new tokens and a new CA. */
function useOutputs(out: OutputMap): void {
    uiUrls = out.uiUrls.value;
    httpAddrs = out.httpAddrs.value;
    gossipKey = out.gossipKey.value;
    managementToken = out.aclBootstrapToken.value;
    ca = out.caCertPem.value;
    consul = new ConsulCli(managementToken);
}

after(async () => {
    for (const name of extraAgents) {
        await docker(["rm", "--force", "--volumes", name]);
    }
    if (keep) {
        console.log("KEEP_CLUSTER=1: the stack, its backend and the cluster stay; `npm run cluster:down` removes them");
        return;
    }
    // The destroy test below normally leaves nothing to do; after a failure, this still cleans up.
    if (pulumi && (await existingStack(pulumi)) !== undefined) {
        assert.deepEqual(await tearDown(pulumi), [], "cleanup after a failed run left resources behind");
    }
    // The rollout test's image is the tier's own, not the user's.
    await docker(["rmi", rolledImage]);
});

test("`pulumi up` creates the stack and returns once every agent is healthy", () => {
    if (upError) {
        throw upError;
    }
    assert.ok(created > 0, "the engine reported no created resources");
});

test("the cluster converges: both leaders, 4 WAN servers, a KV key written in dc1 read through dc2", async () => {
    await eventually("convergence", 90, async () => {
        for (const addr of Object.values(httpAddrs)) {
            const leader = await api(addr, "/v1/status/leader", { ca });
            if (leader.status !== 200 || !leader.body.includes(":8300")) return undefined;
        }
        const wan = await consul.members("dc1-server1", "-wan");
        if (wan.filter((m) => m.status === "alive").length !== 4) return undefined;
        const stamp = String(Date.now());
        const put = await api(httpAddrs.dc1, "/v1/kv/probe/converged", { ca, token: managementToken, method: "PUT", body: stamp });
        if (put.status !== 200) return undefined;
        const read = await api(httpAddrs.dc2, "/v1/kv/probe/converged?dc=dc1&raw", { ca, token: managementToken });
        return read.status === 200 && read.body === stamp ? true : undefined;
    });
    console.log(`converged in ${Date.now() - upStartedAt} ms (from the start of pulumi up)`);
});

describe("LAN membership and Raft", () => {
    test("dc1 `consul members` shows 3 servers and 1 client, all alive", async () => {
        const dc1 = (await consul.members("dc1-client1")).filter((m) => m.status === "alive");
        assert.deepEqual(dc1.map((m) => `${m.node} ${m.type} ${m.dc}`).sort(), [
            "dc1-client1 client dc1",
            "dc1-server1 server dc1",
            "dc1-server2 server dc1",
            "dc1-server3 server dc1",
        ]);
    });

    test("dc2 `consul members` shows 1 server and 1 client, all alive", async () => {
        const dc2 = (await consul.members("dc2-client1")).filter((m) => m.status === "alive");
        assert.deepEqual(dc2.map((m) => `${m.node} ${m.type} ${m.dc}`).sort(), ["dc2-client1 client dc2", "dc2-server1 server dc2"]);
    });

    test("dc1 Raft has 3 voters and one leader; dc2 has a leader", async () => {
        const dc1 = await consul.raftPeers("dc1-server1");
        assert.equal(dc1.filter((p) => p.voter).length, 3, "dc1 voters");
        assert.equal(dc1.filter((p) => p.state === "leader").length, 1, "dc1 leader");
        const dc2 = await consul.raftPeers("dc2-server1");
        assert.deepEqual(dc2.map((p) => `${p.node} ${p.state}`), ["dc2-server1 leader"]);
    });
});

describe("WAN federation", () => {
    test("`consul members -wan` shows the 4 servers of both DCs, alive", async () => {
        for (const from of ["dc1-server1", "dc2-server1"]) {
            const wan = await consul.members(from, "-wan");
            assert.deepEqual(
                wan.filter((m) => m.status === "alive").map((m) => m.node).sort(),
                ["dc1-server1.dc1", "dc1-server2.dc1", "dc1-server3.dc1", "dc2-server1.dc2"],
                `WAN pool as seen from ${from}`,
            );
        }
    });

    test("a dc2 client lists both datacenters", async () => {
        assert.deepEqual((await consul.run("dc2-client1", "catalog", "datacenters")).trim().split(/\s+/).sort(), ["dc1", "dc2"]);
    });

    test("a KV key written in dc1 is read from dc2 with -datacenter=dc1", async () => {
        const value = `written-in-dc1-${Date.now()}`;
        await consul.run("dc1-client1", "kv", "put", "probe/cross-dc", value);
        assert.equal((await consul.run("dc2-client1", "kv", "get", "-datacenter=dc1", "probe/cross-dc")).trim(), value);
    });

    test("a service registered on the dc1 client is found from dc2 with ?dc=dc1", async () => {
        await consul.run("dc1-client1", "services", "register", "-name=probe-web", "-port=8080");
        const found = await eventually("probe-web in dc1's catalog, read through dc2", 20, async () => {
            const res = await api(httpAddrs.dc2, "/v1/catalog/service/probe-web?dc=dc1", { ca, token: managementToken });
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
        assert.equal(await reaches("dc2-client1", "10.201.2.11"), true, "control: dc2-client1 reaches its own server");
        const targets = ["10.201.1.11", "10.201.1.101", "10.201.0.11"];
        const reached = await Promise.all(targets.map((t) => reaches("dc2-client1", t)));
        assert.deepEqual(reached, [false, false, false], `dc2-client1 must reach none of ${targets.join(", ")}`);
    });
});

/** Starts an extra agent on dc1's LAN with the given files; returns whether dc1's servers see it alive. */
async function extraAgentJoins(name: string, address: string, args: string[], uploads: File[]): Promise<boolean> {
    const image = (await dockerOk(["inspect", "--format", "{{.Image}}", "dc1-client1"])).trim();
    extraAgents.push(name);
    await dockerOk([
        "create", "--name", name, "--user", "consul", "--network", "dc1-lan", "--ip", address,
        "--entrypoint", "/bin/consul", image, "agent", "-config-dir=/consul/config", ...args,
    ]);
    await copyFiles(name, uploads);
    await dockerOk(["start", name]);
    const deadline = Date.now() + 12_000;
    while (Date.now() < deadline) {
        if ((await consul.members("dc1-server1")).some((m) => m.node === name && m.status === "alive")) {
            return true;
        }
        await sleep(500);
    }
    return false;
}

async function removeExtraAgents(): Promise<void> {
    for (const name of extraAgents.splice(0)) {
        // A graceful stop makes an agent that joined leave; then dc1 forgets it, back to its 4 nodes.
        await docker(["stop", "--time", "10", name]);
        await docker(["rm", "--force", "--volumes", name]);
        await exec("dc1-server1", ["consul", "force-leave", "-prune", name], { CONSUL_HTTP_TOKEN: managementToken });
        await api(httpAddrs.dc1, "/v1/catalog/deregister", { ca, token: managementToken, method: "PUT", body: JSON.stringify({ Node: name }) });
    }
}

describe("gossip encryption", () => {
    test("`consul keyring -list` shows the one stack key on every member of every pool", async () => {
        const pools = await consul.keyring("dc1-server1");
        const expected = new Map([["WAN", 4], ["dc1 (LAN)", 4], ["dc2 (LAN)", 2]]);
        assert.deepEqual([...pools.keys()].sort(), [...expected.keys()].sort());
        for (const [pool, keys] of pools) {
            assert.equal(keys.length, 1, `${pool} holds exactly one key`);
            // Compared without printing: the key is a secret.
            assert.ok(keys[0].key === gossipKey, `${pool} key is not the stack's gossipKey output`);
            assert.deepEqual([keys[0].held, keys[0].of], [expected.get(pool), expected.get(pool)], `${pool} members holding it`);
        }
    });

    test("an agent with no gossip key, or another key, cannot join; one with the stack key can", async () => {
        // Bare agents: no TLS, no ACLs, only gossip, so the key is all that decides.
        const bare = (name: string, address: string) => [
            "-datacenter=dc1", `-node=${name}`, "-data-dir=/consul/data", "-bind=0.0.0.0", `-advertise=${address}`,
            "-retry-join=10.201.1.11", "-retry-interval=1s",
        ];
        const gossip = (key: string): File[] => [{ file: "/consul/config/gossip.json", content: Buffer.from(JSON.stringify({ encrypt: key })) }];
        try {
            assert.equal(await extraAgentJoins("probe-no-key", "10.201.1.251", bare("probe-no-key", "10.201.1.251"), []), false,
                "an agent without a gossip key joined dc1");
            assert.equal(await extraAgentJoins("probe-other-key", "10.201.1.252", bare("probe-other-key", "10.201.1.252"), gossip(randomBytes(32).toString("base64"))), false,
                "an agent with another gossip key joined dc1");
            // Control: the same agent with the stack's key joins, so the refusals above are the key's doing.
            assert.equal(await extraAgentJoins("probe-stack-key", "10.201.1.253", bare("probe-stack-key", "10.201.1.253"), gossip(gossipKey)), true,
                "the control agent with the stack's gossip key did not join");
        } finally {
            await removeExtraAgents();
        }
    });
});

describe("a changed gossip key", () => {
    test("an agent whose keyring lacks the configured key refuses to start, loudly, instead of splitting the cluster", async () => {
        const name = "dc2-client1";
        const original = await fileIn(name, "/consul/config/gossip.json");
        const changed = Buffer.from(JSON.stringify({ encrypt: randomBytes(32).toString("base64") }));
        await dockerOk(["stop", "--time", "10", name]);
        try {
            await copyFiles(name, [{ file: "/consul/config/gossip.json", content: changed }]);
            const since = new Date().toISOString();
            await dockerOk(["start", name]);
            const log = await eventually("the refusal in the agent's log", 20, async () => {
                const out = await docker(["logs", "--since", since, name]);
                return (out.stdout + out.stderr).includes("is not in this agent's keyring") ? out.stdout + out.stderr : undefined;
            });
            assert.match(log, /rotate it with 'consul keyring' first/);
            assert.ok(!log.includes(gossipKey), "the log must not show the key");
            const alive = (await consul.members("dc2-server1")).find((m) => m.node === name)?.status;
            assert.notEqual(alive, "alive", `${name} must not be running with another key`);
        } finally {
            // Put the stack's key back: the same agent starts and rejoins.
            await dockerOk(["stop", "--time", "10", name]);
            await copyFiles(name, [{ file: "/consul/config/gossip.json", content: original }]);
            await dockerOk(["start", name]);
        }
        await eventually(`${name} alive again with the stack's key`, 60, async () =>
            (await consul.members("dc2-server1")).some((m) => m.node === name && m.status === "alive") ? true : undefined,
        );
    });
});

describe("TLS", () => {
    test("the HTTPS API presents a certificate that verifies against the caCertPem output", async () => {
        for (const addr of Object.values(httpAddrs)) {
            const res = await api(addr, "/v1/status/leader", { ca });
            assert.equal(res.status, 200, addr);
            await assert.rejects(api(addr, "/v1/status/leader"), /self[- ]signed|unable to verify|unknown authority/i,
                `${addr} must not verify without the stack's CA`);
        }
    });

    test("a plain-text RPC connection to a server's port 8300 is refused", async () => {
        const since = new Date(Date.now() - 1000).toISOString();
        // 0x01 opens a plain Consul RPC stream; a server that verifies incoming TLS must drop it.
        const sent = await exec("dc1-client1", ["sh", "-c", "printf '\\001' | timeout 3 nc 10.201.1.11 8300; true"]);
        assert.equal(sent.code, 0);
        const logs = await eventually("the server's refusal in its log", 10, async () => {
            const out = await docker(["logs", "--since", since, "dc1-server1"]);
            const text = out.stdout + out.stderr;
            return text.includes("Non-TLS connection attempted with VerifyIncoming set") ? text : undefined;
        });
        assert.match(logs, /Non-TLS connection attempted with VerifyIncoming set/);
    });

    // The gossip key decides who joins the LAN pool (probed above); TLS decides who may use the servers.
    // An agent that does not trust the stack's CA, or presents a certificate it did not sign, gets no RPC
    // through: no KV, no catalog, no registration of its own services.
    test("a client agent without the stack's CA, or without a certificate it signed, gets no RPC through; the same agent with both does", async () => {
        const client = await filesIn("dc1-client1", ["/consul/config", "/consul/tls", "/consul/bin"]);
        const selfSigned = (cn: string) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-ca-"));
            try {
                execFileSync("openssl", [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "key.pem"),
                    "-out", path.join(dir, "cert.pem"), "-subj", `/CN=${cn}`, "-days", "1",
                    "-addext", "keyUsage=critical,keyCertSign,digitalSignature", "-addext", `subjectAltName=DNS:${cn}`,
                ], { stdio: "ignore" });
                return { cert: fs.readFileSync(path.join(dir, "cert.pem")), key: fs.readFileSync(path.join(dir, "key.pem")) };
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        };
        // As real as the stack's: a CA of its own, and a client certificate signed by nobody the servers trust.
        const otherCa = selfSigned("Other CA");
        const foreignCert = selfSigned("client.dc1.consul");
        // Everything else as dc1-client1 has it, with the management token so ACLs cannot be the reason.
        const files = (name: string, address: string, swap: Record<string, Buffer>): File[] =>
            [...client.entries()].map(([file, content]) => {
                if (file.endsWith("agent.json")) {
                    const config = JSON.parse(content.toString());
                    return { file, content: Buffer.from(JSON.stringify({ ...config, node_name: name, advertise_addr: address })) };
                }
                if (file.endsWith("acl-tokens.json")) {
                    return { file, content: Buffer.from(JSON.stringify({ acl: { tokens: { agent: managementToken } } })) };
                }
                return { file, content: swap[path.basename(file)] ?? content };
            });
        const rpc = async (name: string) => {
            const r = await exec(name, ["consul", "kv", "get", "-recurse", "example-app/"], { CONSUL_HTTP_TOKEN: managementToken });
            return { ok: r.code === 0, said: r.stderr.trim() };
        };
        try {
            const probes: { name: string; address: string; swap: Record<string, Buffer>; says: RegExp }[] = [
                // It cannot verify the servers' certificates.
                { name: "probe-other-ca", address: "10.201.1.251", swap: { "ca.pem": otherCa.cert }, says: /x509: certificate signed by unknown authority/ },
                // The servers cannot verify its certificate, and drop the connection.
                { name: "probe-foreign-cert", address: "10.201.1.252", swap: { "client.pem": foreignCert.cert, "client-key.pem": foreignCert.key }, says: /rpc error/ },
            ];
            for (const p of probes) {
                await extraAgentJoins(p.name, p.address, [], files(p.name, p.address, p.swap));
                // It is in the gossip pool (it has the key); once it knows the servers, it tries them.
                const tried = await eventually(`${p.name} tries the servers`, 20, async () => {
                    const r = await rpc(p.name);
                    return r.ok || !/No known Consul servers/.test(r.said) ? r : undefined;
                });
                assert.equal(tried.ok, false, `${p.name} got an RPC through`);
                assert.match(tried.said, p.says, p.name);
            }
            const since = new Date(Date.now() - 60_000).toISOString();
            const refused = await docker(["logs", "--since", since, "dc1-server1"]);
            assert.match(refused.stdout + refused.stderr, /from=10\.201\.1\.252:\d+ error="tls: failed to verify certificate: x509/,
                "dc1-server1 refuses the foreign client certificate");
            assert.equal(await extraAgentJoins("probe-stack-ca", "10.201.1.253", [], files("probe-stack-ca", "10.201.1.253", {})), true,
                "the control agent with the stack's files did not join");
            const control = await eventually("the control agent's RPC", 20, async () => ((await rpc("probe-stack-ca")).ok ? true : undefined));
            assert.equal(control, true);
        } finally {
            await removeExtraAgents();
        }
    });
});

describe("ACLs", () => {
    const kvPath = "/v1/kv/probe/acl";

    test("anonymously, only node and service names are readable (for DNS); KV, ACLs, agent and every write are denied", async () => {
        await api(httpAddrs.dc1, kvPath, { ca, token: managementToken, method: "PUT", body: "secret-ish" });
        assert.equal((await api(httpAddrs.dc1, kvPath, { ca })).status, 403, "anonymous KV read");
        assert.equal((await api(httpAddrs.dc1, kvPath, { ca, method: "PUT", body: "x" })).status, 403, "anonymous KV write");
        assert.equal((await api(httpAddrs.dc1, "/v1/acl/tokens", { ca })).status, 403, "anonymous ACL token list");
        assert.equal((await api(httpAddrs.dc1, "/v1/acl/policies", { ca })).status, 403, "anonymous ACL policy list");
        assert.equal((await api(httpAddrs.dc1, "/v1/agent/self", { ca })).status, 403, "anonymous agent read");
        const register = JSON.stringify({ Node: "anon-node", Address: "10.9.9.9" });
        assert.equal((await api(httpAddrs.dc1, "/v1/catalog/register", { ca, method: "PUT", body: register })).status, 403, "anonymous catalog write");
        // dnsAnonymousRead (on by default): the names DNS answers with are readable without a token.
        const nodes = await api(httpAddrs.dc1, "/v1/catalog/nodes", { ca });
        assert.deepEqual([nodes.status, JSON.parse(nodes.body).length], [200, 4], "anonymous catalog node list");

        assert.equal((await api(httpAddrs.dc1, kvPath, { ca, token: managementToken })).status, 200, "KV read with the management token");
        assert.equal((await api(httpAddrs.dc1, kvPath, { ca, token: managementToken, method: "PUT", body: "y" })).status, 200, "KV write");
        assert.equal((await api(httpAddrs.dc1, "/v1/acl/tokens", { ca, token: managementToken })).status, 200, "ACL read with the management token");
    });

    test("tokens replicate to dc2, and a cross-DC KV read from dc2 with a token works", async () => {
        const status = await eventually("dc2's ACL token replication", 30, async () => {
            const res = await api(httpAddrs.dc2, "/v1/acl/replication", { ca, token: managementToken });
            const body = JSON.parse(res.body) as { Enabled: boolean; Running: boolean; ReplicationType: string; ReplicatedTokenIndex: number };
            return body.Running && body.ReplicatedTokenIndex > 0 ? body : undefined;
        });
        assert.deepEqual([status.Enabled, status.ReplicationType], [true, "tokens"]);
        const read = await api(httpAddrs.dc2, `${kvPath}?dc=dc1&raw`, { ca, token: managementToken });
        assert.deepEqual([read.status, read.body], [200, "y"]);
        // A token dc2 resolves on its own: the dc2 client's agent token, replicated from dc1.
        const dc2Agent = JSON.parse((await fileIn("dc2-client1", "/consul/config/acl-tokens.json")).toString()).acl.tokens.agent;
        const self = await api(httpAddrs.dc2, "/v1/acl/token/self", { ca, token: dc2Agent });
        assert.equal(self.status, 200, "dc2 resolves the dc2 client's agent token");
    });

    test("an agent token cannot read KV", async () => {
        const agentToken = JSON.parse((await fileIn("dc1-client1", "/consul/config/acl-tokens.json")).toString()).acl.tokens.agent;
        assert.notEqual(agentToken, managementToken);
        assert.equal((await api(httpAddrs.dc1, "/v1/acl/token/self", { ca, token: agentToken })).status, 200, "the agent token exists");
        assert.equal((await api(httpAddrs.dc1, kvPath, { ca, token: agentToken })).status, 403, "KV read with an agent token");
    });
});

describe("UI", () => {
    test("each uiUrls output answers from the host with the Consul UI over HTTPS", async () => {
        for (const [dc, url] of Object.entries(uiUrls)) {
            const { host, pathname } = new URL(url);
            const res = await api(host, pathname, { ca });
            assert.equal(res.status, 200, `${dc}: ${url}`);
            assert.match(res.body, /consul-ui/, `${dc}: ${url} is not the Consul UI`);
        }
    });

    test("a headless Chromium logs in with the token and shows both datacenters and every node", async () => {
        fs.mkdirSync(artifacts, { recursive: true });
        const browser = await chromium.launch({
            executablePath: chromiumPath,
            args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        try {
            for (const [dc, url] of Object.entries(uiUrls)) {
                // The certificate itself is verified against the CA by the TLS probe; Chromium has no way to be given it here.
                const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
                await page.goto(`${url}/nodes`);
                await logIn(page, managementToken);
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
                if (dc === "dc1") {
                    // KV needs a token: the seeded keys show because the login took.
                    await page.goto(`${url}/kv/example-app/config/`);
                    await page.getByRole("link", { name: "greeting", exact: true }).waitFor({ timeout: 20_000 });
                    await page.screenshot({ path: path.join(artifacts, "ui-dc1-kv.png") });
                }
                await page.close();
            }
        } finally {
            await browser.close();
        }
    });
});

/** The UI's own login: the person icon (the auth menu), "Log in", then the token form. */
async function logIn(page: import("playwright-core").Page, token: string): Promise<void> {
    await page.getByRole("button", { name: "Auth menu" }).click({ timeout: 20_000 });
    await page.locator(":visible", { hasText: /^\s*log ?in\s*$/i }).last().click({ timeout: 10_000 });
    const input = page.getByLabel(/token/i).first();
    await input.fill(token);
    await input.press("Enter");
    await page.getByText("You are now logged in.").waitFor({ timeout: 20_000 });
}

// Using the cluster: the demo services, the KV seed, DNS from the host, and the example app.
describe("demo services, KV seed, DNS and the example app", () => {
    const kvSeed = JSON.parse(fs.readFileSync(path.join(projectRoot, "consul-config", "kv", "dev.json"), "utf8")) as Record<string, string>;
    const expected: Record<string, string[]> = { dc1: ["10.201.1.201:8080", "10.201.1.202:8080"], dc2: ["10.201.2.201:8080"] };
    const passing = async (via: string, dc: string) => {
        const res = await api(httpAddrs[via], `/v1/health/service/web?passing=1&dc=${dc}`, { ca, token: managementToken });
        assert.equal(res.status, 200, `health of web in ${dc} through ${via}`);
        return (JSON.parse(res.body) as { Service: { Address: string; Port: number } }[]).map((e) => `${e.Service.Address}:${e.Service.Port}`).sort();
    };

    test("every demo instance is passing in its own DC's catalog, and is found from the other DC over HTTP", async () => {
        for (const [dc, addresses] of Object.entries(expected)) {
            assert.deepEqual(await eventually(`web passing in ${dc}`, 30, async () => {
                const found = await passing(dc, dc);
                return found.length === addresses.length ? found : undefined;
            }), addresses);
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
        const addrs = Object.fromEntries(Object.entries(expected).map(([dc, a]) => [dc, a.map((x) => x.split(":")[0])]));
        const dnsAddrs = (await stack.outputs()).dnsAddrs.value as Record<string, string>;
        assert.deepEqual(await ask(dnsAddrs.dc1, "web.service.consul"), addrs.dc1);
        assert.deepEqual(await ask(dnsAddrs.dc2, "web.service.consul"), addrs.dc2);
        assert.deepEqual(await ask(dnsAddrs.dc2, "web.service.dc1.consul"), addrs.dc1, "dc1's web asked through dc2's DNS port");
        assert.deepEqual(await ask(dnsAddrs.dc1, "web.service.dc2.consul"), addrs.dc2, "dc2's web asked through dc1's DNS port");
    });

    test("the KV seed is in the primary; anonymous KV, ACL and write requests stay denied", async () => {
        for (const [key, value] of Object.entries(kvSeed)) {
            const res = await api(httpAddrs.dc1, `/v1/kv/${key}?raw`, { ca, token: managementToken });
            assert.deepEqual([res.status, res.body], [200, value], key);
        }
        const [first] = Object.keys(kvSeed);
        assert.equal((await api(httpAddrs.dc1, `/v1/kv/${first}`, { ca })).status, 403, "anonymous KV read");
        assert.equal((await api(httpAddrs.dc2, `/v1/kv/${first}?dc=dc1`, { ca })).status, 403, "anonymous KV read through dc2");
        assert.equal((await api(httpAddrs.dc1, "/v1/kv/anon-write", { ca, method: "PUT", body: "x" })).status, 403, "anonymous KV write");
        assert.equal((await api(httpAddrs.dc1, "/v1/acl/tokens", { ca })).status, 403, "anonymous ACL read");
        const register = { Name: "anon-svc", Port: 1 };
        assert.equal((await api(httpAddrs.dc1, "/v1/agent/service/register", { ca, method: "PUT", body: JSON.stringify(register) })).status, 403, "anonymous service registration");
    });

    test("the appToken output is least privilege: reads web and its KV prefix, nothing else, writes nothing", async () => {
        const appToken = (await stack.outputs()).appToken;
        assert.equal(appToken.secret, true, "appToken is a secret output");
        const token = appToken.value as string;
        const [first] = Object.keys(kvSeed);
        assert.equal((await api(httpAddrs.dc1, `/v1/kv/${first}`, { ca, token })).status, 200, "its own KV prefix");
        assert.equal((await api(httpAddrs.dc2, `/v1/health/service/web?dc=dc1`, { ca, token })).status, 200, "the demo service across DCs");
        await api(httpAddrs.dc1, "/v1/kv/probe/other", { ca, token: managementToken, method: "PUT", body: "x" });
        assert.equal((await api(httpAddrs.dc1, "/v1/kv/probe/other", { ca, token })).status, 403, "another KV prefix");
        assert.equal((await api(httpAddrs.dc1, `/v1/kv/${first}`, { ca, token, method: "PUT", body: "x" })).status, 403, "a KV write");
        assert.equal((await api(httpAddrs.dc1, "/v1/acl/tokens", { ca, token })).status, 403, "ACL reads");
    });

    const example = (args: string[], env: Record<string, string> = {}) =>
        spawn(process.execPath, ["--import", "tsx", path.join(projectRoot, "examples", "app.ts"), "--stack", stack.name, ...args], {
            cwd: projectRoot,
            env: { ...process.env, ...engineEnv(), ...env },
        });
    const finished = (child: ChildProcessWithoutNullStreams) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
            let out = "";
            child.stdout.on("data", (d) => (out += d));
            child.stderr.on("data", (d) => (out += d));
            child.on("close", (code) => resolve({ code, out }));
        });

    test("`npm run example -- --once` prints the discovered address:port pairs in both DCs and the KV values", async () => {
        const { code, out } = await finished(example(["--once"]));
        console.log(out.replace(/^/gm, "  example | "));
        assert.equal(code, 0, out);
        assert.match(out, /^web in dc1 \(passing\): 10\.201\.1\.201:8080, 10\.201\.1\.202:8080$/m);
        assert.match(out, /^web in dc2 \(passing\): 10\.201\.2\.201:8080$/m);
        for (const [key, value] of Object.entries(kvSeed)) {
            assert.ok(out.includes(`  ${key.replace("example-app/config/", "")} = ${value}`), `${key} in: ${out}`);
        }
    });

    test("the watching example prints a key changed through the API within 2 s", async () => {
        const key = "example-app/config/greeting";
        const child = example(["--dc", "dc2"]);
        let out = "";
        const seen = (pattern: string) => eventually(`"${pattern}" from the example`, 20, async () => (out.includes(pattern) ? true : undefined));
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        try {
            await seen(`${key} = `);
            const value = `changed-${Date.now()}`;
            const sent = Date.now();
            assert.equal((await api(httpAddrs.dc1, `/v1/kv/${key}`, { ca, token: managementToken, method: "PUT", body: value })).status, 200);
            await seen(`${key} changed: ${value}`);
            const latency = Date.now() - sent;
            console.log(`watch latency: ${latency} ms from the KV write in dc1 to the example's line (watching through dc2's local agent)`);
            assert.ok(latency <= 2000, `the change took ${latency} ms to reach the example`);
        } finally {
            child.kill("SIGINT");
        }
    });

    test("scripts/join-agent.sh joins one more client agent to dc1 with the stack's key, CA and its own token, and removes it", async () => {
        const run = (args: string[]) => runScript("join-agent.sh", ["--stack", stack.name, ...args]);
        const joined = await run([]);
        console.log(joined.out.replace(/^/gm, "  join-agent | "));
        assert.equal(joined.code, 0, joined.out);
        assert.match(joined.out, /^laptop-agent\s+\S+:8301\s+alive\s+client\s+1\.22\.7\s+2\s+dc1\s/m);
        assert.ok(!joined.out.includes(gossipKey) && !joined.out.includes(managementToken), "no secret in the script's output");
        assert.ok((await consul.members("dc1-server1")).some((m) => m.node === "laptop-agent" && m.status === "alive"), "dc1's servers see it");
        const removed = await run(["--remove"]);
        assert.equal(removed.code, 0, removed.out);
        assert.equal((await docker(["container", "inspect", "laptop-agent"])).code, 1, "the container is gone");
        assert.ok(!(await consul.members("dc1-server1")).some((m) => m.node === "laptop-agent"), "dc1 forgot it");
    });

    test("a user's KV change survives: a second `pulumi up` changes nothing, and the seed re-run by acl-init keeps it", async () => {
        const key = "example-app/config/db_pool_size";
        assert.equal((await api(httpAddrs.dc1, `/v1/kv/${key}`, { ca, token: managementToken, method: "PUT", body: "42" })).status, 200);
        const again = await stack.up({ onOutput: echo("  up again |") });
        assert.deepEqual(changes(again.summary.resourceChanges), {}, "a second pulumi up on an unchanged stack changed something");
        // Restarting acl-init runs its script, KV seed included, again.
        await dockerOk(["restart", "consul-acl-init"]);
        await healthyAgain("consul-acl-init");
        const read = await api(httpAddrs.dc1, `/v1/kv/${key}?raw`, { ca, token: managementToken });
        assert.deepEqual([read.status, read.body], [200, "42"], "the seed reset a value the user changed");
    });

    test("the example refuses bad input clearly: an unknown DC, a wrong token, no agent answering", async () => {
        const unknownDc = await finished(example(["--once", "--dc", "dc9"]));
        assert.equal(unknownDc.code, 2, unknownDc.out);
        assert.match(unknownDc.out, /--dc dc9: the stack has no datacenter dc9; it has dc1, dc2/);

        const wrongToken = await finished(example(["--once"], { CONSUL_HTTP_TOKEN: "00000000-1111-4222-8333-444444444444" }));
        assert.equal(wrongToken.code, 1, wrongToken.out);
        assert.match(wrongToken.out, /refused the token \(403 .*ACL not found\)/);

        // The published address belongs to dc1's client; with it stopped, nothing answers there.
        await dockerOk(["stop", "--time", "10", "dc1-client1"]);
        try {
            const down = await finished(example(["--once"]));
            assert.equal(down.code, 1, down.out);
            assert.match(down.out, /no Consul agent answers at https:\/\/127\.0\.0\.1:8500 \(ECONNREFUSED\): is the cluster running/);
        } finally {
            await dockerOk(["start", "dc1-client1"]);
            await healthyAgain("dc1-client1");
        }
    });
});

// After the probes, in this order: the engine must see nothing to do, then destroy must leave nothing.
dayTwoTests(() => ({ stack, httpAddrs, ca, token: managementToken, consul }));

describe("the engine, after `pulumi up`", () => {
    test("the state file holds no secret in plain text: gossip key, tokens and private keys are encrypted", async () => {
        const state = rawState();
        assert.ok(state.includes("dc1-server1"), "control: the state names the containers");
        const secrets = {
            gossipKey,
            managementToken,
            "dc1-client1 agent token": JSON.parse((await fileIn("dc1-client1", "/consul/config/acl-tokens.json")).toString()).acl.tokens.agent,
            "dc1 server private key": (await fileIn("dc1-server1", "/consul/tls/server-key.pem")).toString().split("\n")[1],
        };
        for (const [what, value] of Object.entries(secrets)) {
            assert.ok(typeof value === "string" && value.length >= 16, `control: ${what} is known`);
            // Compared without printing: these are secrets.
            assert.ok(!state.includes(value), `the state file holds the ${what} in plain text`);
        }
        assert.match(state, /"ciphertext"/, "secrets are stored as ciphertext");
    });

    test("a second `pulumi preview` reports no changes", async () => {
        const preview = await stack.preview({ onOutput: echo("  preview |") });
        assert.deepEqual(changes(preview.changeSummary), {}, "the preview right after up plans changes");
    });

    test("`pulumi refresh` finds no drift", async () => {
        const refresh = await stack.refresh({ onOutput: echo("  refresh |") });
        assert.deepEqual(changes(refresh.summary.resourceChanges), {}, "refresh found the real resources differ from the state");
    });

    dataTests(
        () => ({ stack, httpAddrs, ca, token: managementToken, consul }),
        async () => useOutputs(await stack.outputs()),
    );

    if (keep) {
        return;
    }

    test("`pulumi destroy` leaves no container, network or volume of the stack, and keeps the image", async () => {
        const destroy = await stack.destroy({ onOutput: echo("  destroy |") });
        assert.equal(destroy.summary.result, "succeeded");
        assert.ok((destroy.summary.resourceChanges?.delete ?? 0) > 0, "destroy deleted nothing");
        assert.deepEqual(await leftovers(), [], "left behind by pulumi destroy");
        assert.equal((await docker(["image", "inspect", image])).code, 0, `the image ${image} must stay`);
    });

    test("the stack is removed, with its settings file and backend", async () => {
        await removeStack(stack);
        assert.equal(await existingStack(pulumi), undefined);
    });
});
