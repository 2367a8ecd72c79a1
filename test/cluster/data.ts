// Data across destroy: a snapshot restored into a new stack (scripts/snapshot.sh), and volumes kept by
// keepData. Both go through the real `pulumi destroy` and `pulumi up`, and check the KV and an ACL token
// a user made come back.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { echo } from "../support/engine";
import { leftovers } from "../support/teardown";
import { Cluster, seedKeys, seedPrefix } from "./day-two";
import { missingKeys } from "./kv-writer";
import { runScript } from "./run-script";
import { allHealthy, eventually, stackContainers } from "./wait";

const marker = "data/marker";

/** Runs scripts/snapshot.sh, which must succeed, and prints what it said. */
async function snapshot(args: string[]): Promise<void> {
    const result = await runScript("snapshot.sh", args);
    console.log(result.out.trim());
    assert.equal(result.code, 0, result.out);
}

/** A token and a key a user made, that a restored or kept cluster must still have. */
async function userState(c: Cluster): Promise<string> {
    await c.consul.run("dc1-server1", "kv", "put", marker, "kept");
    const created = JSON.parse(await c.consul.run("dc1-server1", "acl", "token", "create", "-description", "a user's token", "-policy-name", "example-app", "-format", "json"));
    return created.SecretID as string;
}

async function assertUserState(c: Cluster, userToken: string): Promise<void> {
    assert.equal((await c.consul.run("dc1-server1", "kv", "get", marker)).trim(), "kept");
    assert.deepEqual(await missingKeys(c.httpAddrs.dc1, c.ca, c.token, seedPrefix, seedKeys), [], "the 1,000 keys written before the faults");
    const self = await c.consul.run("dc1-server1", "acl", "token", "read", "-self", "-token", userToken);
    assert.match(self, /a user's token/);
}

/** `reload` re-reads the stack outputs after an `up`: a new stack has new tokens and a new CA. */
export function dataTests(cluster: () => Cluster, reload: () => Promise<void>): void {
    test("keepData: `pulumi destroy` keeps the data volumes, and the next `pulumi up` comes back with its KV and ACLs", async () => {
        let c = cluster();
        const userToken = await userState(c);
        // Kept volumes hold the gossip keyring: the stack must keep its key, so the user sets it.
        const key = (await c.stack.outputs()).gossipKey.value as string;
        await c.stack.setConfig("gossipKey", { value: key, secret: true });
        await c.stack.setConfig("keepData", { value: "true" });
        const keep = await c.stack.up({ onOutput: echo("  up |") });
        assert.equal(keep.summary.resourceChanges?.replace ?? 0, 0, "setting keepData and the same gossip key replaces nothing");

        await c.stack.destroy({ onOutput: echo("  destroy |") });
        const left = await leftovers(c.stack.name);
        assert.ok(left.length > 0 && left.every((l) => /^volume dc\d-(server|client)\d+-data$/.test(l)), `only the data volumes are left: ${left.join(", ")}`);

        const began = Date.now();
        await c.stack.up({ onOutput: echo("  up |") });
        await reload();
        c = cluster();
        await allHealthy(await stackContainers(c.stack.name), 180);
        console.log(`keepData: pulumi up on the kept volumes and every container healthy in ${Date.now() - began} ms`);
        await assertUserState(c, userToken);
        const voters = (await c.consul.raftPeers("dc1-server1")).filter((p) => p.voter);
        assert.equal(voters.length, 3);

        // Back to the default, so the destroy below removes everything.
        await c.stack.setConfig("keepData", { value: "false" });
        await c.stack.up({ onOutput: echo("  up |") });
    });
    test("backup and restore: snapshot, destroy, up, restore: the keys and the ACL tokens are back", async () => {
        let c = cluster();
        const userToken = await userState(c);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "snapshot-")), "dc1.snap");
        await snapshot(["save", file, "--stack", c.stack.name]);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600, "the snapshot holds tokens: owner-only");

        await c.stack.destroy({ onOutput: echo("  destroy |") });
        assert.deepEqual(await leftovers(c.stack.name), [], "the default destroy removes the data volumes too");
        await c.stack.up({ onOutput: echo("  up |") });
        await reload();
        c = cluster();
        assert.match((await c.consul.run("dc1-server1", "kv", "get", marker).catch((e: Error) => e.message)), /No key exists/, "a new stack starts empty");

        const began = Date.now();
        await snapshot(["restore", file, "--stack", c.stack.name]);
        console.log(`restore: the snapshot's state and the new stack's tokens in place ${Date.now() - began} ms after the restore began`);
        await assertUserState(c, userToken);
        // The new stack's own tokens work again: every agent, with its services, and dc2 reading dc1 through replication.
        await allHealthy(await stackContainers(c.stack.name), 180);
        await eventually("dc1-client1 registers its services again, under its own node ID", 90, async () =>
            /dc1-client1/.test(await c.consul.run("dc1-client1", "catalog", "nodes", "-service=web")) ? true : undefined);
        await eventually("dc2 reads dc1's restored KV", 60, async () =>
            (await c.consul.run("dc2-client1", "kv", "get", "-datacenter=dc1", marker)).trim() === "kept" ? true : undefined);
    });
}
