// Stack config that changes the graph, under mocks: the publish address, a datacenter without clients,
// a name prefix, anonymous DNS reads and a user's own gossip key.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { named, ofType, T, upload, uploads } from "../support/declared";
import { fakeState } from "../support/fake-state";
import { meshlessConfig, outputValue, runProgram, stackConfig, unwrapSecret } from "../support/program";

describe("stack config changes the graph", () => {
    test("publishAddress 0.0.0.0 binds published ports on every interface; URLs still name loopback", async () => {
        const run = await runProgram({ computeState: fakeState, config: stackConfig({ publishAddress: "0.0.0.0" }) });
        const ports = named(run, T.container, "dc1-client1").inputs.ports as { ip: string }[];
        assert.deepEqual([...new Set(ports.map((p) => p.ip))], ["0.0.0.0"]);
        assert.equal(
            ((await outputValue(run.outputs.uiUrls)) as Record<string, string>).dc1,
            "https://127.0.0.1:8500/ui/dc1",
        );
    });

    test("a datacenter without clients publishes from its first server; namePrefix prefixes every name", async () => {
        // Without the mesh, whose gateway registers on a client too (mesh.test.ts).
        const config = meshlessConfig({ namePrefix: "lab-" });
        // Without a client there is no local agent for services to belong to.
        Object.assign((config.datacenters as object[])[1], { clients: 0, services: [] });
        const run = await runProgram({ computeState: fakeState, config });
        assert.equal((named(run, T.container, "lab-dc2-server1").inputs.ports as unknown[]).length, 3);
        // named() fails unless it finds the resource.
        named(run, T.network, "lab-consul-wan");
        named(run, T.network, "lab-dc1-lan");
        named(run, T.volume, "lab-dc1-server1-data");
        assert.deepEqual(
            JSON.parse(upload(named(run, T.container, "lab-dc1-client1"), "agent.json").content as string).node_name,
            "lab-dc1-client1",
        );
    });

    test("dnsAnonymousRead false revokes the DNS policy instead of granting it; failoverQueries false makes no failover query", async () => {
        const run = await runProgram({
            computeState: fakeState,
            config: stackConfig({ dnsAnonymousRead: false, failoverQueries: false }),
        });
        assert.deepEqual(
            run.resources.filter((r) => r.name.endsWith("-failover-query")),
            [],
        );
        const init = named(run, T.container, "consul-acl-init");
        const script = upload(init, "../acl-init/init.sh").content as string;
        assert.ok(script.includes("ensure revoke 'anonymous-dns-read'"), script);
        assert.ok(!script.includes("00000000-0000-0000-0000-000000000002"));
        assert.ok(!uploads(init).some((u) => u.file.endsWith("policy-anonymous-dns-read.hcl")));
    });

    test("a user-supplied gossip key replaces the random one and stays secret", async () => {
        const key = Buffer.alloc(16, 3).toString("base64");
        const run = await runProgram({
            computeState: fakeState,
            config: stackConfig({ gossipKey: key }),
            secretKeys: ["gossipKey"],
        });
        assert.deepEqual(
            ofType(run, T.password).filter((r) => r.name === "consul-gossip-key"),
            [],
        );
        assert.equal(await pulumi.isSecret(run.outputs.gossipKey), true);
        const client = named(run, T.container, "dc2-client1");
        assert.ok(unwrapSecret(client.inputs.uploads).secret, "dc2-client1 uploads are secret");
        assert.equal(JSON.parse(upload(client, "gossip.json").content as string).encrypt, key);
    });
});
