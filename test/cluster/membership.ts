// Who is in the cluster: LAN members and Raft in each datacenter, the WAN federation across them, and
// a client cut off from the other datacenter's LAN.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { dockerOk } from "../support/docker";
import { api, reaches } from "./consul-cli";
import type { Cluster } from "./state";
import { eventually } from "./wait";

export function membershipTests(cluster: () => Cluster): void {
    describe("LAN membership and Raft", () => {
        test("dc1 `consul members` shows 3 servers and 1 client, all alive", async () => {
            const dc1 = (await cluster().consul.members("dc1-client1")).filter((m) => m.status === "alive");
            assert.deepEqual(dc1.map((m) => `${m.node} ${m.type} ${m.dc}`).sort(), [
                "dc1-client1 client dc1",
                "dc1-server1 server dc1",
                "dc1-server2 server dc1",
                "dc1-server3 server dc1",
            ]);
        });

        test("dc2 `consul members` shows 1 server and 1 client, all alive", async () => {
            const dc2 = (await cluster().consul.members("dc2-client1")).filter((m) => m.status === "alive");
            assert.deepEqual(dc2.map((m) => `${m.node} ${m.type} ${m.dc}`).sort(), [
                "dc2-client1 client dc2",
                "dc2-server1 server dc2",
            ]);
        });

        test("dc1 Raft has 3 voters and one leader; dc2 has a leader", async () => {
            const { consul } = cluster();
            const dc1 = await consul.raftPeers("dc1-server1");
            assert.equal(dc1.filter((p) => p.voter).length, 3, "dc1 voters");
            assert.equal(dc1.filter((p) => p.state === "leader").length, 1, "dc1 leader");
            const dc2 = await consul.raftPeers("dc2-server1");
            assert.deepEqual(
                dc2.map((p) => `${p.node} ${p.state}`),
                ["dc2-server1 leader"],
            );
        });
    });

    describe("WAN federation", () => {
        test("`consul members -wan` shows the 4 servers of both DCs, alive", async () => {
            for (const from of ["dc1-server1", "dc2-server1"]) {
                const wan = await cluster().consul.members(from, "-wan");
                assert.deepEqual(
                    wan
                        .filter((m) => m.status === "alive")
                        .map((m) => m.node)
                        .sort(),
                    ["dc1-server1.dc1", "dc1-server2.dc1", "dc1-server3.dc1", "dc2-server1.dc2"],
                    `WAN pool as seen from ${from}`,
                );
            }
        });

        test("a dc2 client lists both datacenters", async () => {
            assert.deepEqual(
                (await cluster().consul.run("dc2-client1", "catalog", "datacenters")).trim().split(/\s+/).sort(),
                ["dc1", "dc2"],
            );
        });

        test("a KV key written in dc1 is read from dc2 with -datacenter=dc1", async () => {
            const { consul } = cluster();
            const value = `written-in-dc1-${Date.now()}`;
            await consul.run("dc1-client1", "kv", "put", "probe/cross-dc", value);
            assert.equal(
                (await consul.run("dc2-client1", "kv", "get", "-datacenter=dc1", "probe/cross-dc")).trim(),
                value,
            );
        });

        test("a service registered on the dc1 client is found from dc2 with ?dc=dc1", async () => {
            const c = cluster();
            await c.consul.run("dc1-client1", "services", "register", "-name=probe-web", "-port=8080");
            const found = await eventually("probe-web in dc1's catalog, read through dc2", 20, async () => {
                const res = await api(c.httpAddrs.dc2, "/v1/catalog/service/probe-web?dc=dc1", {
                    ca: c.ca,
                    token: c.token,
                });
                const entries = JSON.parse(res.body) as { Node: string; ServicePort: number; Datacenter: string }[];
                return entries.length > 0 ? entries : undefined;
            });
            assert.deepEqual(
                found.map((e) => `${e.Node} ${e.ServicePort} ${e.Datacenter}`),
                ["dc1-client1 8080 dc1"],
            );
        });
    });

    describe("network isolation", () => {
        test("a dc2 client is only on dc2's LAN and cannot reach dc1's LAN", async () => {
            const networks = JSON.parse(
                await dockerOk(["inspect", "--format", "{{json .NetworkSettings.Networks}}", "dc2-client1"]),
            );
            assert.deepEqual(Object.keys(networks), ["dc2-lan"]);
            assert.equal(
                await reaches("dc2-client1", "10.201.2.11"),
                true,
                "control: dc2-client1 reaches its own server",
            );
            const targets = ["10.201.1.11", "10.201.1.101", "10.201.0.11"];
            const reached = await Promise.all(targets.map((t) => reaches("dc2-client1", t)));
            assert.deepEqual(reached, [false, false, false], `dc2-client1 must reach none of ${targets.join(", ")}`);
        });
    });
}
