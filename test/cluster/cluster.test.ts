// Cluster tier: the real program through the real Pulumi engine (Automation API) on a real Docker Engine
// running real Consul, probed with Consul's CLI and API and a real browser; then the engine must find
// nothing to change, and `pulumi destroy` must leave nothing behind but the image.
//
// This file is the tier's one entry: it makes the stack before the first test and removes it after the last, and
// registers the groups of tests, each from its own module, in the order they run: the probes, the day-two
// faults, the engine's checks with the data tests, and the destroy.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { OutputMap, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { aclTokensIn } from "../support/acl-tokens";
import { docker, fileIn } from "../support/docker";
import { changes, createStack, echo, existingStack, rawState, removeStack } from "../support/engine";
import { stackConfig } from "../support/program";
import { leftovers, tearDown } from "../support/teardown";
import { aclTests } from "./acl";
import { api, ConsulCli } from "./consul-cli";
import { dataTests } from "./data";
import { dayTwoTests, rolledImage } from "./day-two";
import { everyServerRefuses } from "./denials";
import { removeLeftoverAgents } from "./extra-agents";
import { failoverTests } from "./failover";
import { gossipTests } from "./gossip";
import { membershipTests } from "./membership";
import { meshTests, noRejectedUpdates } from "./mesh";
import { checkPrerequisites } from "./prerequisites";
import type { Cluster } from "./state";
import { tlsTests } from "./tls";
import { uiTests } from "./ui";
import { usingTheClusterTests } from "./using-the-cluster";
import { eventually } from "./wait";

const keep = process.env.KEEP_CLUSTER === "1";
const image = stackConfig().image as string;

let pulumi: PulumiCommand;
let stack: Stack;
let upStartedAt = 0;
let upError: Error | undefined;
let created = 0;
let fromOutputs: Omit<Cluster, "stack">;

/** What every group of tests reads from the stack, as it is when a test starts. */
const cluster = (): Cluster => ({ stack, ...fromOutputs });

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
        assert.ok(
            out.gossipKey.secret && out.aclBootstrapToken.secret,
            "gossipKey and aclBootstrapToken must be secret outputs",
        );
    } catch (e) {
        upError = e as Error;
    }
});

/** What the probes use from the stack outputs; a stack made again has new tokens and a new CA. */
function useOutputs(out: OutputMap): void {
    const token = out.aclBootstrapToken.value;
    fromOutputs = {
        uiUrls: out.uiUrls.value,
        httpAddrs: out.httpAddrs.value,
        gossipKey: out.gossipKey.value,
        token,
        ca: out.caCertPem.value,
        consul: new ConsulCli(token),
    };
}

after(async () => {
    await removeLeftoverAgents();
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
    const { httpAddrs, ca, token, consul } = cluster();
    await eventually("convergence", 90, async () => {
        for (const addr of Object.values(httpAddrs)) {
            const leader = await api(addr, "/v1/status/leader", { ca });
            if (leader.status !== 200 || !leader.body.includes(":8300")) return undefined;
        }
        const wan = await consul.members("dc1-server1", "-wan");
        if (wan.filter((m) => m.status === "alive").length !== 4) return undefined;
        const stamp = String(Date.now());
        const put = await api(httpAddrs.dc1, "/v1/kv/probe/converged", { ca, token, method: "PUT", body: stamp });
        if (put.status !== 200) return undefined;
        const read = await api(httpAddrs.dc2, "/v1/kv/probe/converged?dc=dc1&raw", { ca, token });
        return read.status === 200 && read.body === stamp ? true : undefined;
    });
    console.log(`converged in ${Date.now() - upStartedAt} ms (from the start of pulumi up)`);
});

membershipTests(cluster);
gossipTests(cluster);
tlsTests(cluster);
aclTests(cluster);
everyServerRefuses(() => cluster().stack);
uiTests(cluster);
usingTheClusterTests(cluster);
failoverTests(cluster);
meshTests(cluster);

// After the probes, in this order: the engine must see nothing to do, then destroy must leave nothing.
dayTwoTests(cluster);

describe("the engine, after `pulumi up`", () => {
    test("the state file holds no secret in plain text: gossip key, tokens and private keys are encrypted", async () => {
        const c = cluster();
        const state = rawState();
        assert.ok(state.includes("dc1-server1"), "control: the state names the containers");
        const secrets = {
            gossipKey: c.gossipKey,
            managementToken: c.token,
            "dc1-client1 agent token": (await aclTokensIn("dc1-client1")).agent,
            "dc1 server private key": (await fileIn("dc1-server1", "/consul/tls/server-key.pem"))
                .toString()
                .split("\n")[1],
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
        assert.deepEqual(
            changes(refresh.summary.resourceChanges),
            {},
            "refresh found the real resources differ from the state",
        );
    });

    dataTests(cluster, async () => useOutputs(await stack.outputs()));
    // The Envoys now are the last restore's, after the day-two faults and every data round.
    noRejectedUpdates("at the end of the tier");

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
