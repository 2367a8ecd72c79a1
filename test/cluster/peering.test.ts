// Cluster tier, cluster peering: a stack of its own config, dc1 and dc2 federated over the WAN and dc3 a
// cluster of its own that peers with dc1, through the real engine. The tests probe the peering through
// each side's published API and DNS, check what stays private (the peer's KV, its other services, its
// ACLs), run the example app against the peer, restart the peer's server, check that a second
// `pulumi up` leaves a working peering alone and that the preview refuses a switch of federation, and save
// both clusters' state (scripts/snapshot.sh) across a destroy and restore it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { dockerOk } from "../support/docker";
import { changes, createStack, echo, engineEnv, existingStack, rawState, removeStack } from "../support/engine";
import { start } from "../support/process";
import { projectRoot, stackConfig } from "../support/program";
import { leftovers, tearDown } from "../support/teardown";
import { api, dnsA } from "./consul-cli";
import { checkPrerequisites } from "./prerequisites";
import { runScript } from "./run-script";
import { allHealthy, eventually, stackContainers } from "./wait";

const stackName = "peering-tier";
const prefix = "peer-";
const image = stackConfig().image as string;
const service = (name: string) => ({ name, port: 8080, instances: 1, check: { path: "/health", intervalSeconds: 2 } });
/** dc1 and dc2 over the WAN, dc3 peering with dc1; one server each, on ports of their own. */
const datacenters = [
    {
        name: "dc1",
        servers: 1,
        clients: 1,
        subnet: "10.221.1.0/24",
        httpPort: 8720,
        dnsPort: 8730,
        services: [service("web")],
    },
    { name: "dc2", servers: 1, clients: 0, subnet: "10.221.2.0/24", httpPort: 8721, dnsPort: 8731 },
    {
        name: "dc3",
        federation: "peering",
        servers: 1,
        clients: 1,
        subnet: "10.221.3.0/24",
        httpPort: 8722,
        dnsPort: 8732,
        services: [service("api")],
    },
];
const settings = (dcs: readonly object[] = datacenters) =>
    [
        "config:",
        `  consul-multi-dc:namePrefix: ${prefix}`,
        "  consul-multi-dc:wanSubnet: 10.221.0.0/24",
        `  consul-multi-dc:datacenters: ${JSON.stringify(dcs)}`,
        "",
    ].join("\n");
const instance = { dc1: "10.221.1.201", dc3: "10.221.3.201" };

let pulumi: PulumiCommand;
let stack: Stack;
let upStartedAt = 0;
let upError: Error | undefined;
let out: {
    httpAddrs: Record<string, string>;
    dnsAddrs: Record<string, string>;
    ca: string;
    tokens: Record<string, string>;
    peerings: unknown;
};

/** The stack's outputs, afresh after each `pulumi up`: a new stack has new tokens and a new CA. */
async function readOutputs(): Promise<void> {
    const o = await stack.outputs();
    out = {
        httpAddrs: o.httpAddrs.value,
        dnsAddrs: o.dnsAddrs.value,
        ca: o.caCertPem.value,
        tokens: o.aclBootstrapTokens.value,
        peerings: o.peerings.value,
    };
}

/** Runs scripts/snapshot.sh on the stack, which must succeed; what it said. */
async function snapshot(verb: "save" | "restore", file: string): Promise<string> {
    const result = await runScript("snapshot.sh", [verb, file, "--stack", stackName]);
    console.log(result.out.trim().replace(/^/gm, `  snapshot ${verb} | `));
    assert.equal(result.code, 0, result.out);
    return result.out;
}

/** A call to a datacenter's published API with its own cluster's management token (or `token`). */
const call = (dc: string, urlPath: string, token: string | undefined = out.tokens[dc], method = "GET", body?: string) =>
    api(out.httpAddrs[dc], urlPath, { ca: out.ca, token, method, body, timeoutMs: 3000 });

/** The peering as one side holds it, named after the other side. */
async function peeringOn(dc: "dc1" | "dc3"): Promise<{ ID: string; State: string; ModifyIndex: number } | undefined> {
    const res = await call(dc, `/v1/peering/${dc === "dc1" ? "dc3" : "dc1"}`).catch(() => undefined);
    return res?.status === 200 ? JSON.parse(res.body) : undefined;
}
const bothActive = async () =>
    (await peeringOn("dc1"))?.State === "ACTIVE" && (await peeringOn("dc3"))?.State === "ACTIVE";

/** The addresses of the passing instances of `name` that `through` imports from `peer`. */
async function imported(through: string, name: string, peer: string, token?: string): Promise<string[] | undefined> {
    const res = await call(through, `/v1/health/service/${name}?peer=${peer}&passing`, token).catch(() => undefined);
    return res?.status === 200
        ? (JSON.parse(res.body) as { Service: { Address: string } }[]).map((e) => e.Service.Address).sort()
        : undefined;
}

before(async () => {
    pulumi = await checkPrerequisites(image);
    assert.deepEqual(await tearDown(pulumi, stackName), [], "an earlier run's cluster could not be removed");
    stack = await createStack(pulumi, stackName, settings());
    upStartedAt = Date.now();
    try {
        await stack.up({ onOutput: echo("  peering up |") });
        console.log(`peering: pulumi up returned in ${Date.now() - upStartedAt} ms`);
        await readOutputs();
    } catch (e) {
        upError = e as Error;
    }
});

after(async () => {
    if (pulumi && (await existingStack(pulumi, stackName)) !== undefined) {
        assert.deepEqual(await tearDown(pulumi, stackName), [], "cleanup after a failed run left resources behind");
    }
});

describe("cluster peering", () => {
    test("`pulumi up` makes dc3 a cluster of its own, peered with dc1: the peerings output says ACTIVE on both sides", () => {
        if (upError) {
            throw upError;
        }
        assert.deepEqual(out.peerings, { dc3: { dc1: "ACTIVE", dc3: "ACTIVE" } });
        assert.notEqual(out.tokens.dc3, out.tokens.dc1, "dc3 has its own management token");
        assert.equal(out.tokens.dc2, out.tokens.dc1, "dc2 shares dc1's ACLs");
    });

    test("neither cluster's management token is in plain text in the state, and no peering token is in it at all", () => {
        const state = rawState(stackName);
        for (const dc of ["dc1", "dc3"]) {
            assert.ok(!state.includes(out.tokens[dc]), `${dc}'s management token in plain text in the state`);
        }
        // A peering token is base64 of JSON ("eyJ…"), over a kilobyte long; the provider's own code in the state names the field, so look for a value.
        assert.doesNotMatch(state, /"eyJ[A-Za-z0-9+/=]{200,}"/);
    });

    test("the peering is ACTIVE through each side's own API, and each cluster keeps its own ACLs", async () => {
        assert.equal((await peeringOn("dc1"))?.State, "ACTIVE");
        assert.equal((await peeringOn("dc3"))?.State, "ACTIVE");
        assert.equal(
            (await call("dc3", "/v1/acl/token/self", out.tokens.dc1)).status,
            403,
            "dc1's management token means nothing in dc3",
        );
        assert.equal((await call("dc3", "/v1/acl/token/self")).status, 200);
    });

    test("each side finds the other's exported service over HTTP, through its own published API", async () => {
        // ACTIVE means the stream is up; the exported services follow over it.
        await eventually("each side importing the other's service", 30, async () =>
            (await imported("dc1", "api", "dc3"))?.join() === instance.dc3 &&
            (await imported("dc3", "web", "dc1"))?.join() === instance.dc1
                ? true
                : undefined,
        );
        console.log(
            `peering: dc3's api found through dc1's API at +${Date.now() - upStartedAt} ms from the start of pulumi up`,
        );
    });

    test("DNS from the host, with no token: api.service.dc3.peer.consul through dc1, web.service.dc1.peer.consul through dc3", async () => {
        assert.deepEqual(await dnsA(out.dnsAddrs.dc1, "api.service.dc3.peer.consul"), [instance.dc3]);
        assert.deepEqual(await dnsA(out.dnsAddrs.dc3, "web.service.dc1.peer.consul"), [instance.dc1]);
        assert.deepEqual(await dnsA(out.dnsAddrs.dc1, "web.service.dc3.peer.consul"), [], "dc3 runs no web");
    });

    test("only the demo services cross: not the peer's consul service, its KV, or its data to the anonymous token", async () => {
        assert.deepEqual(await imported("dc1", "consul", "dc3"), [], "dc3's servers are not exported");
        assert.deepEqual(await imported("dc3", "consul", "dc1"), [], "dc1's servers are not exported");
        assert.equal((await call("dc3", "/v1/kv/peering-tier/private", undefined, "PUT", "dc3-only")).status, 200);
        for (const query of ["peer=dc3", "dc=dc3"]) {
            const res = await call("dc1", `/v1/kv/peering-tier/private?${query}&raw`);
            assert.notEqual(res.status, 200, `dc1 reads dc3's KV with ${query}: ${res.body}`);
            assert.ok(!res.body.includes("dc3-only"), `dc3's value through dc1 with ${query}`);
        }
        assert.equal(
            (await call("dc3", "/v1/kv/peering-tier/private", "")).status,
            403,
            "anonymous reads no KV in dc3",
        );
        assert.equal((await call("dc3", "/v1/kv/peering-tier/private?raw")).body, "dc3-only", "dc3 itself reads it");
    });

    test("`npm run example -- --peer dc3` lists dc3's api through dc1's agent, with the app's least-privilege token", async () => {
        const example = start(
            process.execPath,
            ["--import", "tsx", path.join(projectRoot, "examples", "app.ts"), "--stack", stackName, "--peer", "dc3"],
            {
                cwd: projectRoot,
                env: engineEnv(),
            },
        );
        const { code, out: printed } = await example.finished;
        console.log(printed.replace(/^/gm, "  example --peer | "));
        assert.equal(code, 0, printed);
        assert.match(printed, /^api in peer dc3 \(passing\): 10\.221\.3\.201:8080$/m);
    });

    test("a second `pulumi up` changes nothing and leaves the working peering as it is", async () => {
        const before = { dc1: await peeringOn("dc1"), dc3: await peeringOn("dc3") };
        const up = await stack.up({ onOutput: echo("  peering up again |") });
        assert.deepEqual(changes(up.summary.resourceChanges), {});
        for (const dc of ["dc1", "dc3"] as const) {
            const now = await peeringOn(dc);
            assert.deepEqual(
                [now?.ID, now?.ModifyIndex, now?.State],
                [before[dc]?.ID, before[dc]?.ModifyIndex, "ACTIVE"],
                `${dc}'s peering was written again`,
            );
        }
    });

    test("dc3's server stopped and started: the peering comes back by itself", async () => {
        const server = `${prefix}dc3-server1`;
        await dockerOk(["stop", server]);
        try {
            // The stop is seen: dc1's side of the peering leaves ACTIVE.
            await eventually("dc1 seeing the peering down", 30, async () =>
                (await peeringOn("dc1"))?.State !== "ACTIVE" ? true : undefined,
            );
        } finally {
            await dockerOk(["start", server]);
        }
        const startedAt = Date.now();
        await eventually("the peering ACTIVE on both sides again, serving the peer's service", 90, async () =>
            (await bothActive()) &&
            (await imported("dc1", "api", "dc3"))?.join() === instance.dc3 &&
            (await imported("dc3", "web", "dc1"))?.join() === instance.dc1
                ? true
                : undefined,
        );
        console.log(
            `peering: dc3's server restarted; the peering ACTIVE on both sides, each finding the other's service, ${Date.now() - startedAt} ms after it started`,
        );
    });

    test("the preview refuses switching the running dc3 to WAN federation, with the safe way", async () => {
        const asWan = datacenters.map((dc) => ({ ...dc, federation: undefined }));
        await stack.setConfig("datacenters", { value: JSON.stringify(asWan) });
        try {
            const refused = await stack.preview({ onOutput: echo("  peering preview |") }).then(
                () => undefined,
                (e: Error) => e,
            );
            assert.ok(refused, "the preview went through");
            assert.match(
                refused.message,
                /datacenters\[2\]\.federation: dc3 runs as a cluster of its own, .* To switch, remove dc3 from datacenters in one `pulumi up`/,
            );
        } finally {
            await stack.setConfig("datacenters", { value: JSON.stringify(datacenters) });
        }
    });

    test("snapshot save, destroy, up, restore: dc1's key, dc2's and dc3's own keys come back, the peering is ACTIVE again, every agent healthy", async () => {
        const written = {
            dc1: `in dc1 at ${Date.now()}`,
            dc2: `in dc2 at ${Date.now()}`,
            dc3: `in dc3 at ${Date.now()}`,
        };
        const key = (dc: "dc1" | "dc2" | "dc3") => `peering-tier/saved/${dc}`;
        for (const dc of ["dc1", "dc2", "dc3"] as const) {
            assert.equal((await call(dc, `/v1/kv/${key(dc)}`, undefined, "PUT", written[dc])).status, 200);
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peering-snapshot-"));
        const file = path.join(dir, "stack.snap");
        try {
            const saved = await snapshot("save", file);
            for (const dc of ["dc1", "dc2", "dc3"]) {
                assert.match(saved, new RegExp(`saved ${dc}'s state from ${prefix}${dc}-server1`));
            }
            assert.equal(fs.statSync(file).mode & 0o777, 0o600, "the snapshot holds tokens: owner-only");

            await stack.destroy({ onOutput: echo("  peering destroy |") });
            assert.deepEqual(await leftovers(stackName), []);
            await stack.up({ onOutput: echo("  peering up |") });
            await readOutputs();
            for (const dc of ["dc1", "dc2", "dc3"] as const) {
                assert.equal(
                    (await call(dc, `/v1/kv/${key(dc)}?raw`)).status,
                    404,
                    `the new stack's ${dc} starts without the key`,
                );
            }

            const began = Date.now();
            const restored = await snapshot("restore", file);
            console.log(
                `peering: every datacenter of both clusters restored, every agent working, ${Date.now() - began} ms after scripts/snapshot.sh restore started`,
            );
            assert.match(restored, /dc1's cluster \(dc1, dc2\) has the stack's tokens again/);
            assert.match(restored, /dc3's cluster \(dc3\) has the stack's tokens again/);
            assert.match(restored, /restored .*'s state of dc2 through peer-dc2-server1/);
            for (const dc of ["dc1", "dc2", "dc3"] as const) {
                assert.equal(
                    (await call(dc, `/v1/kv/${key(dc)}?raw`)).body,
                    written[dc],
                    `${dc}'s own key is back, read through ${dc}'s API with the stack's token`,
                );
            }
            await allHealthy(await stackContainers(stackName), 180);
            await eventually("the peering ACTIVE on both sides, each importing the other's service", 90, async () =>
                (await bothActive()) &&
                (await imported("dc1", "api", "dc3"))?.join() === instance.dc3 &&
                (await imported("dc3", "web", "dc1"))?.join() === instance.dc1
                    ? true
                    : undefined,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("`pulumi destroy` removes the peering with the stack, and leaves nothing", async () => {
        const destroy = await stack.destroy({ onOutput: echo("  peering destroy |") });
        assert.equal(destroy.summary.result, "succeeded");
        assert.deepEqual(await leftovers(stackName), []);
        await removeStack(stack);
        assert.equal(await existingStack(pulumi, stackName), undefined);
    });
});
