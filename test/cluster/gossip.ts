// Gossip encryption: one stack key on every member, agents without it kept out, and an agent whose
// configured key changed refusing to start.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { copyFiles, docker, dockerOk, fileIn } from "../support/docker";
import { type AgentFile, extraAgentJoins, removeExtraAgents } from "./extra-agents";
import type { Cluster } from "./state";
import { eventually } from "./wait";

export function gossipTests(cluster: () => Cluster): void {
    describe("gossip encryption", () => {
        test("`consul keyring -list` shows the one stack key on every member of every pool", async () => {
            const c = cluster();
            const pools = await c.consul.keyring("dc1-server1");
            const expected = new Map([
                ["WAN", 4],
                ["dc1 (LAN)", 4],
                ["dc2 (LAN)", 2],
            ]);
            assert.deepEqual([...pools.keys()].sort(), [...expected.keys()].sort());
            for (const [pool, keys] of pools) {
                assert.equal(keys.length, 1, `${pool} holds exactly one key`);
                // Compared without printing: the key is a secret.
                assert.ok(keys[0].key === c.gossipKey, `${pool} key is not the stack's gossipKey output`);
                assert.deepEqual(
                    [keys[0].held, keys[0].of],
                    [expected.get(pool), expected.get(pool)],
                    `${pool} members holding it`,
                );
            }
        });

        test("an agent with no gossip key, or another key, cannot join; one with the stack key can", async () => {
            const c = cluster();
            // Bare agents: no TLS, no ACLs, only gossip, so the key is all that decides.
            const bare = (name: string, address: string) => [
                "-datacenter=dc1",
                `-node=${name}`,
                "-data-dir=/consul/data",
                "-bind=0.0.0.0",
                `-advertise=${address}`,
                "-retry-join=10.201.1.11",
                "-retry-interval=1s",
            ];
            const gossip = (key: string): AgentFile[] => [
                { file: "/consul/config/gossip.json", content: Buffer.from(JSON.stringify({ encrypt: key })) },
            ];
            try {
                assert.equal(
                    await extraAgentJoins(c, "probe-no-key", "10.201.1.251", bare("probe-no-key", "10.201.1.251"), []),
                    false,
                    "an agent without a gossip key joined dc1",
                );
                assert.equal(
                    await extraAgentJoins(
                        c,
                        "probe-other-key",
                        "10.201.1.252",
                        bare("probe-other-key", "10.201.1.252"),
                        gossip(randomBytes(32).toString("base64")),
                    ),
                    false,
                    "an agent with another gossip key joined dc1",
                );
                // Control: the same agent with the stack's key joins, so the refusals above are the key's doing.
                assert.equal(
                    await extraAgentJoins(
                        c,
                        "probe-stack-key",
                        "10.201.1.253",
                        bare("probe-stack-key", "10.201.1.253"),
                        gossip(c.gossipKey),
                    ),
                    true,
                    "the control agent with the stack's gossip key did not join",
                );
            } finally {
                await removeExtraAgents(c);
            }
        });
    });

    describe("a changed gossip key", () => {
        test("an agent whose keyring lacks the configured key refuses to start, loudly, instead of splitting the cluster", async () => {
            const c = cluster();
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
                    return (out.stdout + out.stderr).includes("is not in this agent's keyring")
                        ? out.stdout + out.stderr
                        : undefined;
                });
                assert.match(log, /rotate it with 'consul keyring' first/);
                assert.ok(!log.includes(c.gossipKey), "the log must not show the key");
                const alive = (await c.consul.members("dc2-server1")).find((m) => m.node === name)?.status;
                assert.notEqual(alive, "alive", `${name} must not be running with another key`);
            } finally {
                // Put the stack's key back: the same agent starts and rejoins.
                await dockerOk(["stop", "--time", "10", name]);
                await copyFiles(name, [{ file: "/consul/config/gossip.json", content: original }]);
                await dockerOk(["start", name]);
            }
            await eventually(`${name} alive again with the stack's key`, 60, async () =>
                (await c.consul.members("dc2-server1")).some((m) => m.node === name && m.status === "alive")
                    ? true
                    : undefined,
            );
        });
    });
}
