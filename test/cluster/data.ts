// Data across destroy: a snapshot restored into a new stack (scripts/snapshot.sh), then volumes kept by
// keepData, then the same snapshot restored into the kept cluster; three rounds in a row, so that a flaky
// restore shows. Every step goes through the real `pulumi destroy` and `pulumi up`, and is followed by
// the same checks: dc1's KV, dc2's own KV and a user's token are back, every agent's RPC works through every
// server, and no agent has logged a certificate error since the step began.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { compileStack } from "../../components/model/compile";
import { callMesh, crossDcProbe } from "../../scripts/mesh-failover";
import { stackSettings } from "../../scripts/stack-access";
import { docker, exec } from "../support/docker";
import { echo } from "../support/engine";
import { stackConfig } from "../support/program";
import { leftovers } from "../support/teardown";
import { api } from "./consul-cli";
import { seedKeys, seedPrefix } from "./day-two";
import { missingKeys } from "./kv-writer";
import { runScript } from "./run-script";
import type { Cluster } from "./state";
import { allHealthy, eventually, stackContainers } from "./wait";

const marker = "data/marker";
/** Written in dc2, so kept in dc2's own Raft state, which only dc2's snapshot holds. */
const dc2Marker = "data/dc2-marker";
const rounds = 3;
/** Writes per client agent and check: a client picks another server after a failed RPC, so several reach several servers. */
const writesPerClient = 6;

/** Runs scripts/snapshot.sh, which must succeed, and returns what it said. */
async function snapshot(args: string[]): Promise<string> {
    const result = await runScript("snapshot.sh", args);
    console.log(result.out.trim().replace(/^/gm, "  snapshot | "));
    assert.equal(result.code, 0, result.out);
    return result.out;
}

/** A token and a key a user made, that a restored or kept cluster must still have. */
async function userState(c: Cluster, round: number): Promise<{ token: string; value: string }> {
    const value = `kept in round ${round}`;
    await c.consul.run("dc1-server1", "kv", "put", marker, value);
    await c.consul.run("dc2-server1", "kv", "put", dc2Marker, value);
    const created = JSON.parse(
        await c.consul.run(
            "dc1-server1",
            "acl",
            "token",
            "create",
            "-description",
            `a user's token, round ${round}`,
            "-policy-name",
            "example-app",
            "-format",
            "json",
        ),
    );
    return { token: created.SecretID as string, value };
}

/** The stack's agents, by datacenter, from its outputs. */
async function agentsOf(c: Cluster): Promise<{ dc: string; name: string; role: "server" | "client" }[]> {
    const containers = (await c.stack.outputs()).containers.value as Record<
        string,
        { servers: string[]; clients: string[] }
    >;
    return Object.entries(containers).flatMap(([dc, { servers, clients }]) => [
        ...servers.map((name) => ({ dc, name, role: "server" as const })),
        ...clients.map((name) => ({ dc, name, role: "client" as const })),
    ]);
}

/** The dev stack's model, whose gateway and services the cross-datacenter probe takes. */
const devModel = compileStack(stackSettings(stackConfig()));

/** What the issue saw after a broken restore: x509 and certificate-authority errors in agents' logs. */
async function certificateErrors(agents: readonly string[], since: Date): Promise<string[]> {
    const found: string[] = [];
    for (const agent of agents) {
        const logs = await docker(["logs", "--since", since.toISOString(), agent]);
        for (const line of `${logs.stdout}\n${logs.stderr}`.split("\n")) {
            if (/x509|certificate authority|bad certificate/i.test(line)) {
                found.push(`${agent}: ${line.trim()}`);
            }
        }
    }
    return found;
}

/** After every step: everything a user relies on works, through every client agent. */
async function assertWorks(
    c: Cluster,
    step: string,
    since: Date,
    user: { token: string; value: string },
): Promise<void> {
    const agents = await agentsOf(c);
    await allHealthy(await stackContainers(c.stack.name), 180);
    // Every sidecar and gateway is healthy (its Envoy is LIVE); the mesh carries frontend's calls to web too.
    const meshDemoUrl = (await c.stack.outputs()).meshDemoUrl?.value as string | undefined;
    assert.ok(meshDemoUrl, `${step}: the dev stack's meshDemoUrl output`);
    await eventually(`${step}: frontend → web through the mesh`, 60, async () =>
        (await callMesh(meshDemoUrl)).datacenter === "dc1" ? true : undefined,
    );
    // Across datacenters, with a leaf certificate of frontend from dc1 and dc2's sidecar presenting one from dc2's
    // intermediate: both chain to the root the restore brought back, or the handshake fails.
    const toDc2 = crossDcProbe(
        devModel,
        (method, urlPath, token) => api(c.httpAddrs.dc1, urlPath, { ca: c.ca, token, method }),
        async () => c.token,
    );
    await eventually(`${step}: frontend's identity reaches web in dc2 through both gateways`, 60, async () =>
        (await toDc2()) ? true : undefined,
    );
    for (const client of agents.filter((a) => a.role === "client")) {
        for (let i = 0; i < writesPerClient; i++) {
            const key = `data/${step.replace(/\W+/g, "-")}/${client.name}/${i}`;
            const put = await exec(client.name, ["consul", "kv", "put", key, "x"], { CONSUL_HTTP_TOKEN: c.token });
            assert.equal(
                put.code,
                0,
                `${step}: a write through ${client.name} with the management token: ${put.stderr}`,
            );
            const anonymous = await exec(client.name, ["consul", "kv", "put", key, "y"]);
            assert.match(
                anonymous.stderr,
                /Unexpected response code: 403/,
                `${step}: an anonymous write through ${client.name} must be denied (403), not fail`,
            );
        }
    }
    assert.equal((await c.consul.run("dc1-server1", "kv", "get", marker)).trim(), user.value);
    assert.equal(
        (await c.consul.run("dc2-server1", "kv", "get", dc2Marker)).trim(),
        user.value,
        `${step}: dc2's own key`,
    );
    assert.deepEqual(
        await missingKeys(c.httpAddrs.dc1, c.ca, c.token, seedPrefix, seedKeys),
        [],
        `${step}: the 1,000 keys written before the faults`,
    );
    assert.match(
        await c.consul.run("dc1-server1", "acl", "token", "read", "-self", "-token", user.token),
        /a user's token/,
    );
    await eventually(`${step}: dc2 reads dc1's restored KV across the WAN`, 60, async () =>
        (await c.consul.run("dc2-client1", "kv", "get", "-datacenter=dc1", marker)).trim() === user.value
            ? true
            : undefined,
    );
    assert.deepEqual(
        await certificateErrors(
            agents.map((a) => a.name),
            since,
        ),
        [],
        `${step}: no agent may log a certificate error`,
    );
}

/** Restores `file` into the running stack; prints and returns how long the script took, from its start. */
async function restore(c: Cluster, file: string, what: string): Promise<string> {
    const began = Date.now();
    const out = await snapshot(["restore", file, "--stack", c.stack.name]);
    console.log(
        `restore ${what}: every agent working ${Date.now() - began} ms after scripts/snapshot.sh restore started`,
    );
    return out;
}

/**
 * Gives `agent` a random node ID, as every agent had before the stack derived them from node names, so
 * that a snapshot taken now lists it under an ID the next stack's agent will not have.
 */
async function foreignNodeId(c: Cluster, agent: string): Promise<string> {
    const id = randomUUID();
    assert.equal((await exec(agent, ["sh", "-c", `printf '%s' ${id} >/consul/data/node-id`])).code, 0);
    await docker(["restart", "--time", "30", agent]);
    await eventually(`${agent} listed under its new node ID`, 60, async () =>
        (await c.consul.run("dc1-server1", "catalog", "nodes", "-detailed"))
            .split("\n")
            .some((l) => l.startsWith(`${agent} `) && l.includes(id))
            ? true
            : undefined,
    );
    return id;
}

/** `reload` re-reads the stack outputs after an `up`: a new stack has new tokens and a new CA. */
export function dataTests(cluster: () => Cluster, reload: () => Promise<void>): void {
    for (let round = 1; round <= rounds; round++) {
        test(`data round ${round}/${rounds}: snapshot, destroy, up, restore; keepData destroy and up; restore again`, async () => {
            let c = cluster();
            let keeping = false;
            // Back to the default, so that later destroys remove everything, even after a failure here. The
            // gossip key stays fixed: kept volumes' keyrings hold it.
            const backToDefault = async (stackOf: Cluster) => {
                keeping = false;
                await stackOf.stack.setConfig("keepData", { value: "false" });
                await stackOf.stack.up({ onOutput: echo("  up |") });
            };
            const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "snapshot-")), "stack.snap");
            try {
                const user = await userState(c, round);
                // The first round's snapshot lists dc1-client1 under a node ID of another stack, which the
                // restore must clean up; the later rounds' snapshots list every agent as itself.
                const foreign = round === 1 ? await foreignNodeId(c, "dc1-client1") : undefined;
                await snapshot(["save", file, "--stack", c.stack.name]);
                assert.equal(fs.statSync(file).mode & 0o777, 0o600, "the snapshot holds tokens: owner-only");

                // 1. Into a new stack.
                let since = new Date();
                await c.stack.destroy({ onOutput: echo("  destroy |") });
                assert.deepEqual(await leftovers(c.stack.name), [], "the default destroy removes the data volumes too");
                await c.stack.up({ onOutput: echo("  up |") });
                await reload();
                c = cluster();
                for (const [server, key] of [
                    ["dc1-server1", marker],
                    ["dc2-server1", dc2Marker],
                ]) {
                    assert.match(
                        await c.consul.run(server, "kv", "get", key).catch((e: Error) => e.message),
                        /No key exists/,
                        `a new stack starts empty: ${key} through ${server}`,
                    );
                }
                const restored = await restore(c, file, `into a new stack (round ${round})`);
                assert.equal(
                    /under other node IDs/.test(restored),
                    foreign !== undefined,
                    foreign
                        ? "the snapshot's entry for dc1-client1 under another node ID must be cleaned up"
                        : "the snapshot lists every agent as itself",
                );
                await assertWorks(c, `round ${round}, restore into a new stack`, since, user);

                // 2. keepData: destroy keeps the volumes, up reuses them.
                const key = (await c.stack.outputs()).gossipKey.value as string;
                await c.stack.setConfig("gossipKey", { value: key, secret: true });
                await c.stack.setConfig("keepData", { value: "true" });
                keeping = true;
                const keep = await c.stack.up({ onOutput: echo("  up |") });
                assert.equal(
                    keep.summary.resourceChanges?.replace ?? 0,
                    0,
                    "setting keepData and the same gossip key replaces nothing",
                );
                since = new Date();
                await c.stack.destroy({ onOutput: echo("  destroy |") });
                const left = await leftovers(c.stack.name);
                assert.ok(
                    left.length > 0 && left.every((l) => /^volume dc\d-(server|client)\d+-data$/.test(l)),
                    `only the data volumes are left: ${left.join(", ")}`,
                );
                const began = Date.now();
                await c.stack.up({ onOutput: echo("  up |") });
                await reload();
                c = cluster();
                await allHealthy(await stackContainers(c.stack.name), 180);
                console.log(
                    `keepData (round ${round}): pulumi up on the kept volumes and every container healthy in ${Date.now() - began} ms`,
                );
                assert.equal((await c.consul.raftPeers("dc1-server1")).filter((p) => p.voter).length, 3);
                await assertWorks(c, `round ${round}, keepData destroy and up`, since, user);
                await backToDefault(c);

                // 3. The same snapshot into the kept cluster, whose tokens and CA are the second stack's.
                since = new Date();
                await restore(c, file, `into the kept cluster (round ${round})`);
                await assertWorks(c, `round ${round}, restore into the kept cluster`, since, user);
            } finally {
                fs.rmSync(path.dirname(file), { recursive: true, force: true });
                if (keeping) {
                    await backToDefault(cluster());
                }
            }
        });
    }
}
