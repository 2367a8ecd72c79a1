// examples/three-datacenters: another Pulumi program that imports ConsulFederation from the package by
// name, under mocks: what it declares follows from its args alone.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import YAML from "yaml";
import { stackDefaults } from "../../components/model/defaults";
import { agents, named, ofType, T, upload } from "../support/declared";
import { fakeState } from "../support/fake-state";
import { outputValue, type ProgramRun, projectRoot, runProgram } from "../support/program";

describe("examples/three-datacenters, a program that imports consul-multi-dc", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({ computeState: fakeState, config: {}, program: "examples/three-datacenters/index.ts" });
    });

    test("declares one federation with three datacenters, named from it", () => {
        assert.deepEqual(
            ofType(run, T.federation).map((r) => r.name),
            ["lab"],
        );
        assert.deepEqual(
            ofType(run, T.component).map((r) => r.name),
            ["lab-east", "lab-west", "lab-edge"],
        );
        assert.deepEqual(
            agents(run)
                .map((c) => c.inputs.name)
                .sort(),
            [
                "lab-east-client1",
                "lab-east-server1",
                "lab-east-server2",
                "lab-east-server3",
                "lab-edge-client1",
                "lab-edge-client2",
                "lab-edge-server1",
                "lab-west-client1",
                "lab-west-server1",
                "lab-west-server2",
                "lab-west-server3",
            ],
        );
        assert.deepEqual(
            ofType(run, T.network)
                .map((n) => n.inputs.name)
                .sort(),
            ["lab-consul-wan", "lab-east-lan", "lab-edge-lan", "lab-west-lan"],
        );
        assert.equal(named(run, T.container, "lab-consul-acl-init").inputs.name, "lab-consul-acl-init");
    });

    test("the secondaries' servers join the primary's over the WAN; each datacenter publishes its own ports", async () => {
        for (const server of ["lab-west-server2", "lab-edge-server1"]) {
            const config = JSON.parse(upload(named(run, T.container, server), "agent.json").content as string);
            assert.deepEqual(config.retry_join_wan, ["10.210.0.11", "10.210.0.12", "10.210.0.13"], server);
            assert.equal(config.primary_datacenter, "east", server);
        }
        assert.equal(
            JSON.parse(upload(named(run, T.container, "lab-east-server1"), "agent.json").content as string)
                .retry_join_wan,
            undefined,
        );
        assert.deepEqual(await outputValue(run.outputs.uiUrls), {
            east: "https://127.0.0.1:9500/ui/east",
            west: "https://127.0.0.1:9501/ui/west",
            edge: "https://127.0.0.1:9502/ui/edge",
        });
        assert.deepEqual(
            ((await outputValue(run.outputs.containers)) as Record<string, { servers: string[] }>).edge.servers,
            ["lab-edge-server1"],
        );
    });

    test("what it leaves out takes the stack config's defaults: the image, ports on 127.0.0.1, DNS reads, failover queries", () => {
        assert.equal(
            run.resources.find((r) => r.type === T.image && r.name === "lab-east-image")?.inputs.name,
            stackDefaults.image,
        );
        const published = named(run, T.container, "lab-east-client1").inputs.ports as { ip: string }[];
        assert.ok(published.length > 0 && published.every((p) => p.ip === "127.0.0.1"), JSON.stringify(published));
        const init = upload(named(run, T.container, "lab-consul-acl-init"), "../acl-init/init.sh").content as string;
        assert.match(init, /anonymous-dns-read/);
        assert.deepEqual(
            run.resources.filter((r) => r.name.endsWith("-failover-query")).map((r) => r.name),
            ["lab-east-failover-query", "lab-west-failover-query", "lab-edge-failover-query"],
        );
    });
});

test("the component's defaults are the ones Pulumi.yaml declares for the stack config", () => {
    const declared = (
        YAML.parse(fs.readFileSync(path.join(projectRoot, "Pulumi.yaml"), "utf8")) as {
            config: Record<string, { default?: unknown }>;
        }
    ).config;
    for (const [key, value] of Object.entries(stackDefaults)) {
        assert.deepEqual(declared[key]?.default, value, key);
    }
});
