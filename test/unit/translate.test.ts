// The cluster tier's translation from declared resources to Docker, checked without Docker.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { translate, DockerPlan } from "../cluster/translate";
import { fakeGossipKey, fakeState } from "../support/fake-state";
import { DeclaredResource, ProgramRun, runProgram } from "../support/program";

describe("translate", () => {
    let run: ProgramRun;
    let plan: DockerPlan;
    before(async () => {
        run = await runProgram({ computeState: fakeState });
        plan = translate(run.resources);
    });

    test("creates exactly the declared networks, volumes and containers", () => {
        assert.deepEqual(plan.networks.map((n) => n.name).sort(), ["consul-wan", "dc1-lan", "dc2-lan"]);
        assert.equal(plan.volumes.length, 6);
        assert.deepEqual(plan.containers.map((c) => c.name).sort(), [
            "consul-acl-init", "dc1-client1", "dc1-server1", "dc1-server2", "dc1-server3", "dc2-client1", "dc2-server1",
        ]);
        assert.deepEqual([...new Set(plan.images)], ["hashicorp/consul:1.22.7"]);
    });

    test("a network keeps its subnet, gateway and labels", () => {
        const wan = plan.networks.find((n) => n.name === "consul-wan");
        assert.deepEqual(wan?.args, [
            "network", "create", "--driver", "bridge", "--subnet", "10.201.0.0/24", "--gateway", "10.201.0.1",
            "--label", "consul.stack=dev", "--label", "consul.role=wan", "consul-wan",
        ]);
    });

    test("a container keeps every property: user, restart, labels, ports, volume, healthcheck, networks, entrypoint, command", () => {
        const server = plan.containers.find((c) => c.name === "dc1-server1");
        const client = plan.containers.find((c) => c.name === "dc1-client1");
        assert.ok(server && client, "dc1-server1 and dc1-client1 are declared");
        const args = server.createArgs.join(" ");
        for (const part of [
            "--hostname dc1-server1", "--user consul", "--restart unless-stopped",
            "--label consul.datacenter=dc1", "--label consul.role=server", "--label consul.stack=dev",
            "--mount type=volume,source=dc1-server1-data,target=/consul/data",
            "--health-cmd wget -q -O - http://127.0.0.1:8500/v1/status/leader | grep -q ':8300'",
            "--health-interval 2s", "--health-timeout 2s", "--health-start-period 60s", "--health-retries 5",
            "--network dc1-lan --ip 10.201.1.11 --network-alias dc1-server1",
            "--entrypoint /bin/sh sha256:dc1-image /consul/bin/agent-start.sh",
        ]) {
            assert.ok(args.includes(part), `missing "${part}" in: ${args}`);
        }
        assert.deepEqual(server.connectArgs, [["network", "connect", "--ip", "10.201.0.11", "--alias", "dc1-server1", "consul-wan", "dc1-server1"]]);
        assert.equal(server.waitHealthySeconds, 180);
        assert.ok(client.createArgs.includes("127.0.0.1:8500:8501/tcp"), "HTTPS published on 127.0.0.1:8500");
        assert.ok(client.createArgs.includes("127.0.0.1:8600:8600/udp"), "DNS over udp published on 127.0.0.1:8600");
        assert.deepEqual(server.uploads.map((u) => u.file), [
            "/consul/config/common.hcl", "/consul/config/server.hcl", "/consul/config/agent.json", "/consul/config/gossip.json",
            "/consul/config/acl-tokens.json", "/consul/tls/ca.pem", "/consul/tls/server.pem", "/consul/tls/server-key.pem",
            "/consul/bin/agent-start.sh",
        ]);
        assert.equal(JSON.parse(server.uploads[3].content.toString()).encrypt, fakeGossipKey);
    });

    test("containers start in Pulumi's dependency order: secondary DCs after acl-init", () => {
        const after = Object.fromEntries(plan.containers.map((c) => [c.name, c.startAfter]));
        assert.deepEqual(after["dc2-server1"], ["consul-acl-init"]);
        assert.deepEqual(after["dc2-client1"], ["consul-acl-init"]);
        assert.deepEqual(after["dc1-server1"], []);
        assert.deepEqual(after["consul-acl-init"], []);
    });

    test("a tls resource with a property its mock does not honour throws", () => {
        assert.throws(
            () => translate(withInput("tls:index/certRequest:CertRequest", (i) => (i.uris = ["spiffe://x"]))),
            /CertRequest "[^"]+": the cluster tier does not translate "uris"/,
        );
    });

    test("the gossip key never appears in a docker command line", () => {
        for (const step of [...plan.networks, ...plan.volumes]) {
            assert.ok(!step.args.join(" ").includes(fakeGossipKey), step.name);
        }
        for (const c of plan.containers) {
            assert.ok(![...c.createArgs, ...c.connectArgs.flat()].join(" ").includes(fakeGossipKey), c.name);
        }
    });

    const withInput = (type: string, change: (inputs: Record<string, unknown>) => void): DeclaredResource[] =>
        run.resources.map((r) => {
            if (r.type !== type) return r;
            const inputs = structuredClone(r.inputs);
            change(inputs);
            return { ...r, inputs };
        });

    test("throws on a container property it does not translate", () => {
        assert.throws(
            () => translate(withInput("docker:index/container:Container", (i) => (i.privileged = true))),
            /Container "[^"]+": the cluster tier does not translate "privileged"/,
        );
    });
    test("throws on a nested property it does not translate", () => {
        assert.throws(
            () => translate(withInput("docker:index/container:Container", (i) => (i.ports = [...((i.ports as object[] | undefined) ?? []), { internal: 1, hostIp: "x" }]))),
            /ports\[\d\]: the cluster tier does not translate "hostIp"/,
        );
        assert.throws(
            () => translate(withInput("docker:index/network:Network", (i) => (i.internal = true))),
            /Network "wan": the cluster tier does not translate "internal"/,
        );
    });
    test("throws on a resource type it does not translate", () => {
        assert.throws(
            () => translate([...run.resources, { type: "docker:index/service:Service", name: "x", urn: "", custom: true, inputs: {}, dependencies: [] }]),
            /does not translate resource type docker:index\/service:Service/,
        );
    });
    test("refuses an image that a destroy would delete", () => {
        assert.throws(
            () => translate(withInput("docker:index/remoteImage:RemoteImage", (i) => (i.keepLocally = false))),
            /only translates keepLocally: true/,
        );
    });
});
