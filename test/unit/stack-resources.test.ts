// The default stack's resource graph under mocks: one component per datacenter and what it holds, the
// networks with their subnets, which container joins which, the published ports, the images and the outputs.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { agents, named, ofType, T } from "../support/declared";
import { devStackRun, fakeCertPem } from "../support/fake-state";
import { outputValue, type ProgramRun } from "../support/program";

describe("default stack (Pulumi.dev.yaml)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await devStackRun();
    });

    test("declares one federation, with one component per datacenter, each with its network, image, volumes and containers", () => {
        assert.deepEqual(
            ofType(run, T.federation).map((r) => r.name),
            ["consul"],
        );
        assert.deepEqual(
            ofType(run, T.component).map((r) => r.name),
            ["consul-dc1", "consul-dc2"],
        );
        // dc1 runs web twice and frontend once, dc2 web once; in the mesh each instance has a sidecar, and each
        // datacenter a mesh gateway.
        for (const [dc, agents, demo, proxies] of [
            ["dc1", 4, 3, 3 + 1],
            ["dc2", 2, 1, 1 + 1],
        ] as const) {
            const children = run.resources.filter(
                (r) => r.urn.includes(`${T.component}$`) && r.name.startsWith(`consul-${dc}-`),
            );
            const count = (type: string) => children.filter((r) => r.type === type).length;
            assert.equal(count(T.network), 1, `${dc} LAN networks`);
            assert.equal(count(T.image), 3, `${dc} images: Consul, the demo services' and Envoy's`);
            assert.equal(count(T.volume), agents, `${dc} data volumes`);
            assert.equal(
                count(T.container),
                agents + demo + proxies,
                `${dc} containers: agents, demo instances, their sidecars and the mesh gateway`,
            );
            assert.equal(count(T.privateKey), 2, `${dc} keys: server and client`);
            assert.equal(count(T.csr), 2, `${dc} certificate requests`);
            assert.equal(count(T.signed), 2, `${dc} certificates signed by the stack CA`);
        }
        assert.equal(
            ofType(run, T.container).length,
            17,
            "6 agents, acl-init, 4 demo instances, their 4 sidecars and 2 mesh gateways",
        );
        assert.equal(ofType(run, T.network).length, 3, "two LANs and the WAN");
        assert.equal(
            ofType(run, T.password).filter((r) => r.name === "consul-gossip-key").length,
            1,
            "one gossip key for every agent",
        );
        assert.equal(ofType(run, T.selfSigned).length, 1, "one CA");
        assert.equal(
            ofType(run, T.uuid).length,
            6 + 5,
            "accessor IDs: agent tokens, replication, web, frontend and mesh-gateway service and app tokens",
        );
        assert.equal(
            ofType(run, T.password).length,
            1 + 6 + 5 + 1,
            "seeds: gossip key, the same tokens' secrets, the management token",
        );
    });

    test("every resource is a child of the federation or of one of its components, named from its parent", () => {
        // A URN's type names the parent's type before a "$"; only the federation sits at the stack's root.
        const parentType = (urn: string) => urn.split("::")[2].split("$").slice(-2, -1)[0];
        for (const r of run.resources) {
            const type = parentType(r.urn);
            if (r.type === T.federation) {
                assert.equal(type, undefined, `${r.name} is the stack's one top-level resource`);
                continue;
            }
            assert.ok(
                [T.federation, T.component, T.aclBootstrap].includes(type),
                `${r.name} has a parent of ours: ${r.urn}`,
            );
            const parent = run.resources.find((p) => p.type === type && r.name.startsWith(`${p.name}-`));
            assert.ok(parent, `${r.name} is named from its parent: ${r.urn}`);
        }
    });

    test("containers are named as in the demo, dc1-server1 … dc2-client1", () => {
        assert.deepEqual(
            agents(run)
                .map((c) => c.inputs.name)
                .sort(),
            ["dc1-client1", "dc1-server1", "dc1-server2", "dc1-server3", "dc2-client1", "dc2-server1"],
        );
    });

    test("LAN networks and the WAN network have the configured fixed subnets", () => {
        const subnet = (name: string) =>
            (named(run, T.network, name).inputs.ipamConfigs as { subnet: string }[])[0].subnet;
        assert.equal(subnet("dc1-lan"), "10.201.1.0/24");
        assert.equal(subnet("dc2-lan"), "10.201.2.0/24");
        assert.equal(subnet("consul-wan"), "10.201.0.0/24");
    });

    test("servers join their LAN and the WAN network; clients only their LAN", () => {
        const networks = (name: string) =>
            (named(run, T.container, name).inputs.networksAdvanced as { name: string; ipv4Address: string }[]).map(
                (n) => `${n.name}=${n.ipv4Address}`,
            );
        assert.deepEqual(networks("dc1-server1"), ["dc1-lan=10.201.1.11", "consul-wan=10.201.0.11"]);
        assert.deepEqual(networks("dc1-server3"), ["dc1-lan=10.201.1.13", "consul-wan=10.201.0.13"]);
        assert.deepEqual(networks("dc2-server1"), ["dc2-lan=10.201.2.11", "consul-wan=10.201.0.14"]);
        assert.deepEqual(networks("dc1-client1"), ["dc1-lan=10.201.1.101"]);
        assert.deepEqual(networks("dc2-client1"), ["dc2-lan=10.201.2.101"]);
    });

    test("the HTTPS UI/API and DNS are published from each DC's client, on 127.0.0.1 only", () => {
        const ports = (name: string) => named(run, T.container, name).inputs.ports ?? [];
        assert.deepEqual(ports("dc1-client1"), [
            { internal: 8501, external: 8500, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 8600, external: 8600, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 8600, external: 8600, ip: "127.0.0.1", protocol: "udp" },
        ]);
        assert.deepEqual(
            (ports("dc2-client1") as { external: number }[]).map((p) => p.external),
            [8501, 8601, 8601],
        );
        for (const server of ["dc1-server1", "dc1-server2", "dc1-server3", "dc2-server1"]) {
            assert.deepEqual(ports(server), [], `${server} publishes nothing`);
        }
    });

    test("the images are kept on destroy, so a user's image is never deleted", () => {
        for (const image of ofType(run, T.image)) {
            assert.equal(image.inputs.keepLocally, true);
            assert.ok(
                [
                    "hashicorp/consul:1.22.7",
                    "consul-multi-dc/demo-web:1.0",
                    "consul-multi-dc/envoy:1.36.2-consul1.22.7",
                ].includes(image.inputs.name as string),
                image.name,
            );
        }
    });

    test("stack outputs give UI URLs, HTTP and DNS addresses and container names per DC", async () => {
        assert.deepEqual(await outputValue(run.outputs.uiUrls), {
            dc1: "https://127.0.0.1:8500/ui/dc1",
            dc2: "https://127.0.0.1:8501/ui/dc2",
        });
        assert.equal(await outputValue(run.outputs.caCertPem), fakeCertPem("consul-ca"));
        assert.deepEqual(await outputValue(run.outputs.httpAddrs), { dc1: "127.0.0.1:8500", dc2: "127.0.0.1:8501" });
        assert.deepEqual(await outputValue(run.outputs.dnsAddrs), { dc1: "127.0.0.1:8600", dc2: "127.0.0.1:8601" });
        assert.deepEqual(await outputValue(run.outputs.containers), {
            dc1: { servers: ["dc1-server1", "dc1-server2", "dc1-server3"], clients: ["dc1-client1"] },
            dc2: { servers: ["dc2-server1"], clients: ["dc2-client1"] },
        });
    });
});
