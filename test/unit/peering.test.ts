// Cluster peering: the federation key and its checks, the model of a peering datacenter (a cluster of its
// own), what its servers and the first datacenter's run with, the switch a running datacenter cannot take,
// and the resources under mocks: each cluster's own acl-init and management token, and the peering.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { compileStack } from "../../components/model/compile";
import { runningLan, runningShape, shapeChangeProblems } from "../../components/model/running-shape";
import type { DatacenterSettings, StackSettings } from "../../components/model/settings";
import { agentConfig } from "../../components/render/agent-config";
import { agentReadyScript } from "../../components/render/agent-ready";
import { exportedServices, peeringServerConfig } from "../../components/render/peering";
import { acrossHostsDatacenters } from "../support/across-hosts";
import { agents, named, ofType, T, upload, uploads } from "../support/declared";
import { fakeSecretUuid, fakeState } from "../support/fake-state";
import { devModel, meshlessSettings, peeringDc3, problemsOf } from "../support/model";
import {
    meshlessConfig,
    meshlessDatacenters,
    outputValue,
    type ProgramRun,
    reveal,
    runProgram,
    unwrapSecret,
} from "../support/program";

const dynamicType = "pulumi-nodejs:dynamic:Resource";
const api = [{ name: "api", port: 8080, instances: 1 }];

/**
 * dc1 and dc2 as the dev stack has them without the mesh (which cannot take a peering datacenter: mesh.test.ts), and
 * dc3, a peering datacenter with one server, one client and `api`.
 */
const peeringDatacenters = (): DatacenterSettings[] => [
    ...(meshlessDatacenters() as unknown as DatacenterSettings[]),
    { ...peeringDc3, services: api },
];
const settings = (datacenters = peeringDatacenters()): StackSettings => meshlessSettings({ datacenters });

describe("the federation key is checked at preview", () => {
    test("a value other than wan or peering is refused, naming the key", () => {
        const dcs = peeringDatacenters();
        dcs[2] = { ...dcs[2], federation: "mesh" as never };
        assert.deepEqual(problemsOf(settings(dcs)), [
            'datacenters[2].federation must be "wan" or "peering", not "mesh"',
        ]);
    });
    test("the first datacenter cannot peer: every other joins or peers with it", () => {
        const dcs = peeringDatacenters();
        dcs[0] = { ...dcs[0], federation: "peering" };
        const [problem, ...rest] = problemsOf(settings(dcs));
        assert.match(problem, /^datacenters\[0\]\.federation cannot be "peering": the first datacenter is the primary/);
        assert.deepEqual(rest, []);
    });
});

describe("the model of a peering datacenter", () => {
    const model = compileStack(settings());
    const [dc1, dc2, dc3] = model.datacenters;

    test("is its own primary, joins no WAN pool, and peers with the first datacenter at its servers' gRPC TLS on the WAN network", () => {
        assert.equal(model.peered, true);
        assert.deepEqual(
            [dc3.federation, dc3.primaryDatacenter, dc3.peersWith, dc3.wanJoin, dc3.primaryApis],
            ["peering", "dc3", "dc1", [], []],
        );
        assert.deepEqual(dc1.peeringAddresses, ["10.201.0.11:8503", "10.201.0.12:8503", "10.201.0.13:8503"]);
        assert.deepEqual([dc2.federation, dc2.primaryDatacenter, dc2.peeringAddresses], ["wan", "dc1", []]);
        assert.deepEqual(dc2.wanJoin, ["10.201.0.11", "10.201.0.12", "10.201.0.13"]);
    });

    test("its servers bootstrap their own ACLs and replicate none; they wait for nothing, as a primary's do", () => {
        const config = agentConfig(dc3, dc3.servers[0]);
        assert.equal(config.primary_datacenter, "dc3");
        assert.equal(config.retry_join_wan, undefined);
        assert.equal(config.acl, undefined);
        assert.equal(agentReadyScript(dc3, dc3.servers[0]), undefined);
        assert.match(agentReadyScript(dc3, dc3.clients[0]) as string, /tokens in dc3/);
    });

    test("the dev stack has no peering: no gRPC addresses to hand out, and every datacenter in the WAN federation", () => {
        const dev = devModel();
        assert.equal(dev.peered, false);
        assert.deepEqual(
            dev.datacenters.map((dc) => [dc.federation, dc.peeringAddresses]),
            [
                ["wan", []],
                ["wan", []],
            ],
        );
    });

    test("across Docker hosts, the first datacenter's servers publish gRPC TLS for peers, after their HTTPS port", () => {
        const dcs = acrossHostsDatacenters("/certs", meshlessDatacenters());
        dcs[2] = { ...dcs[2], federation: "peering" };
        const across = compileStack({
            ...meshlessSettings(),
            datacenters: dcs,
            dockerCertFiles: { "/certs": ["ca.pem", "cert.pem", "key.pem"] },
        });
        const first = across.datacenters[0];
        assert.deepEqual(
            first.servers.map((s) => s.hostPorts),
            [
                { server: 8300, serfWan: 8302, api: 8303, grpcTls: 8304 },
                { server: 8310, serfWan: 8312, api: 8313, grpcTls: 8314 },
                { server: 8320, serfWan: 8322, api: 8323, grpcTls: 8324 },
            ],
        );
        assert.deepEqual(
            first.peeringAddresses,
            [8304, 8314, 8324].map((p) => `${first.host.address}:${p}`),
        );
        assert.deepEqual(across.datacenters[2].wanJoin, []);
    });
});

test("a datacenter exports its demo services, and nothing else, to each of its peers", () => {
    const both = [{ Peer: "dc3" }, { Peer: "dc4" }];
    assert.deepEqual(exportedServices(["web", "api"], ["dc4", "dc3"]), {
        Kind: "exported-services",
        Name: "default",
        Services: [
            { Name: "api", Consumers: both },
            { Name: "web", Consumers: both },
        ],
    });
});

describe("a running datacenter cannot switch between WAN federation and peering", () => {
    const deployed = (dcs: DatacenterSettings[]) => {
        const model = compileStack(settings(dcs));
        const wan = model.datacenters.flatMap((dc) =>
            dc.servers.map((s) => ({ name: s.name, ipv4Address: `${s.wanAddress}/24` })),
        );
        const options = (dc: (typeof model.datacenters)[number]): Record<string, string> =>
            dc.federation === "peering" ? { "io.consul-multi-dc.federation": "peering" } : {};
        const servers = (dc: (typeof model.datacenters)[number]) =>
            dc.servers.map((s) => ({ name: s.name, ipv4Address: `${s.lanAddress}/24` }));
        const lans = model.datacenters.map((dc) => [
            dc.name,
            { ipamConfigs: [{ subnet: dc.subnet.text }], options: options(dc), containers: servers(dc) },
        ]);
        return runningShape(Object.fromEntries(lans), {
            ipamConfigs: [{ subnet: model.wan.subnet.text }],
            containers: wan,
        });
    };
    const asWan = () => peeringDatacenters().map((dc) => ({ ...dc, federation: undefined }));

    test("the LAN network says which: peering when marked, wan when not, nothing when there is no network", () => {
        assert.deepEqual(
            runningLan({
                ipamConfigs: [{ subnet: "10.201.3.0/24" }],
                options: { "io.consul-multi-dc.federation": "peering" },
            }),
            { subnet: "10.201.3.0/24", federation: "peering" },
        );
        assert.deepEqual(runningLan({ ipamConfigs: [{ subnet: "10.201.1.0/24" }], options: {} }), {
            subnet: "10.201.1.0/24",
            federation: "wan",
        });
        assert.deepEqual(runningLan(undefined), {});
    });
    test("peering to wan and wan to peering are refused with the safe way; the same federation is taken", () => {
        const toWan = shapeChangeProblems(deployed(peeringDatacenters()), compileStack(settings(asWan())));
        assert.equal(toWan.problems.length, 1, toWan.problems.join("\n"));
        assert.match(
            toWan.problems[0],
            /^datacenters\[2\]\.federation: dc3 runs as a cluster of its own, .* and the config makes it a WAN datacenter.* To switch, remove dc3 from datacenters in one `pulumi up` .*then add it back with federation "wan" in the next\.$/,
        );
        const toPeering = shapeChangeProblems(deployed(asWan()), compileStack(settings()));
        assert.match(
            toPeering.problems.join("\n"),
            /^datacenters\[2\]\.federation: dc3 runs as a WAN datacenter, .*federation "peering"/,
        );
        assert.deepEqual(shapeChangeProblems(deployed(peeringDatacenters()), compileStack(settings())).problems, []);
    });
});

describe("a stack with two peering datacenters, under mocks", () => {
    let run: ProgramRun;
    // dc3 as above, and dc4, a second peering datacenter with no demo service.
    const dc4: DatacenterSettings = {
        name: "dc4",
        federation: "peering",
        servers: 1,
        clients: 0,
        subnet: "10.201.4.0/24",
        httpPort: 8503,
        dnsPort: 8603,
    };
    before(async () => {
        run = await runProgram({
            computeState: fakeState,
            config: meshlessConfig({ datacenters: [...peeringDatacenters(), dc4] }),
        });
    });
    const initScript = (name: string) => upload(named(run, T.container, name), "../acl-init/init.sh").content as string;

    test("each cluster bootstraps its own ACLs: dc3's acl-init runs in dc3 with dc3's own management token and creates only dc3's tokens", async () => {
        const main = initScript("consul-acl-init");
        const peer = initScript("consul-acl-init-dc3");
        assert.deepEqual(named(run, T.container, "consul-acl-init-dc3").inputs.networksAdvanced, [
            { name: "dc3-lan", ipv4Address: "10.201.3.10", aliases: ["consul-acl-init-dc3"] },
        ]);
        assert.match(peer, /agent token for dc3-server1/);
        assert.match(peer, /registers the api service/);
        assert.doesNotMatch(peer, /dc1-server|acl-replication|example-app|registers the web service|ensure seed/);
        assert.doesNotMatch(main, /agent token for dc3-/);
        assert.match(main, /agent token for dc2-server1/);
        const management = (name: string) =>
            unwrapSecret(upload(named(run, T.container, name), "../acl-init/management.token").content);
        assert.equal(management("consul-acl-init-dc3").value, fakeSecretUuid("consul-dc3-acl-management-token"));
        assert.equal(management("consul-acl-init").value, fakeSecretUuid("consul-acl-management-token"));
        assert.ok(
            unwrapSecret(named(run, T.container, "consul-acl-init-dc3").inputs.uploads).secret,
            "its uploads, the token among them, are secret",
        );
        assert.equal(
            await pulumi.isSecret(run.outputs.aclBootstrapTokens),
            true,
            "aclBootstrapTokens is a secret output",
        );
        assert.deepEqual(await outputValue(run.outputs.aclBootstrapTokens), {
            dc1: fakeSecretUuid("consul-acl-management-token"),
            dc2: fakeSecretUuid("consul-acl-management-token"),
            dc3: fakeSecretUuid("consul-dc3-acl-management-token"),
            dc4: fakeSecretUuid("consul-dc4-acl-management-token"),
        });
    });

    test("Connect runs on the servers of dc1 and dc3 only, and dc3's LAN network says it peers", () => {
        const withConnect = agents(run)
            .filter((c) => uploads(c).some((u) => u.file.endsWith("/peering.hcl")))
            .map((c) => c.inputs.name)
            .sort();
        assert.deepEqual(withConnect, ["dc1-server1", "dc1-server2", "dc1-server3", "dc3-server1", "dc4-server1"]);
        assert.equal(upload(named(run, T.container, "dc3-server1"), "peering.hcl").content, peeringServerConfig);
        assert.deepEqual(named(run, T.network, "dc3-lan").inputs.options, {
            "io.consul-multi-dc.federation": "peering",
        });
        assert.equal(named(run, T.network, "dc2-lan").inputs.options, undefined);
        // dc3's servers sit on the WAN network, where they reach dc1's gRPC TLS port.
        assert.deepEqual(
            (named(run, T.container, "dc3-server1").inputs.networksAdvanced as { name: string }[]).map((n) => n.name),
            ["dc3-lan", "consul-wan"],
        );
    });

    test("a peering per peering datacenter, each with the first, with both sides' management tokens secret", () => {
        const peerings = ofType(run, dynamicType).filter((r) => r.name.endsWith("-peering"));
        assert.deepEqual(peerings.map((p) => p.name).sort(), ["consul-dc3-peering", "consul-dc4-peering"]);
        const inputs = (peerings.find((p) => p.name === "consul-dc3-peering") as (typeof peerings)[number]).inputs;
        for (const key of ["acceptorToken", "dialerToken"]) {
            assert.ok(unwrapSecret(inputs[key]).secret, `${key} is a secret`);
        }
        assert.equal(unwrapSecret(inputs.dialerToken).value, fakeSecretUuid("consul-dc3-acl-management-token"));
        const side = (s: unknown) => reveal(s) as { httpAddr: string; datacenter: string };
        assert.deepEqual(
            [side(inputs.acceptor), side(inputs.dialer)],
            [
                { httpAddr: "127.0.0.1:8500", datacenter: "dc1" },
                { httpAddr: "127.0.0.1:8502", datacenter: "dc3" },
            ],
        );
        assert.deepEqual(inputs.serverAddresses, ["10.201.0.11:8503", "10.201.0.12:8503", "10.201.0.13:8503"]);
    });

    test("one exported-services entry per datacenter with demo services: dc1's names both peers, dc3's names dc1, dc4 exports nothing", () => {
        const entries = ofType(run, dynamicType).filter((r) => r.name.endsWith("-exported-services"));
        assert.deepEqual(entries.map((e) => e.name).sort(), [
            "consul-dc1-exported-services",
            "consul-dc3-exported-services",
        ]);
        const entry = (dc: string) =>
            entries.find((e) => e.name === `consul-${dc}-exported-services`)?.inputs as Record<string, unknown>;
        assert.deepEqual(JSON.parse(entry("dc1").entry as string), exportedServices(["web"], ["dc3", "dc4"]));
        assert.deepEqual(JSON.parse(entry("dc3").entry as string), exportedServices(["api"], ["dc1"]));
        assert.equal(entry("dc3").httpAddr, "127.0.0.1:8502");
        assert.ok(unwrapSecret(entry("dc3").token).secret, "the token is a secret");
        assert.equal(unwrapSecret(entry("dc3").token).value, fakeSecretUuid("consul-dc3-acl-management-token"));
    });

    test("failover queries fail over within their own cluster: dc1 and dc2 to each other, dc3 to none", () => {
        const query = (dc: string) =>
            ofType(run, dynamicType).find((r) => r.name === `consul-${dc}-failover-query`)?.inputs;
        assert.deepEqual(JSON.parse(query("dc1")?.definition as string).Service.Failover.Datacenters, ["dc2"]);
        assert.deepEqual(JSON.parse(query("dc3")?.definition as string).Service.Failover.Datacenters, []);
        assert.equal(unwrapSecret(query("dc3")?.token).value, fakeSecretUuid("consul-dc3-acl-management-token"));
    });
});
