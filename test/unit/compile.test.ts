// compileStack: the one pure step from stack config to the model, with every problem of every key at once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileStack } from "../../components/model/compile";
import { baseFiles as base, problemsOf, smallSettings as settings } from "../support/model";

describe("compileStack", () => {
    test("lays out every datacenter: agents, WAN addresses and joins, the published agent, ports, instances", () => {
        const model = compileStack(settings());
        const [dc1, dc2] = model.datacenters;
        assert.equal(model.primaryDatacenter, "dc1");
        assert.deepEqual(
            dc1.servers.map((s) => [s.name, s.lanAddress, s.wanAddress]),
            [
                ["dc1-server1", "10.201.1.11", "10.201.0.11"],
                ["dc1-server2", "10.201.1.12", "10.201.0.12"],
                ["dc1-server3", "10.201.1.13", "10.201.0.13"],
            ],
        );
        assert.deepEqual(
            dc2.servers.map((s) => s.wanAddress),
            ["10.201.0.14"],
        );
        assert.deepEqual(dc1.wanJoin, []);
        assert.deepEqual(dc2.wanJoin, ["10.201.0.11", "10.201.0.12", "10.201.0.13"]);
        assert.equal(dc1.published.name, "dc1-client1");
        assert.equal(dc2.published.name, "dc2-server1", "a datacenter without clients publishes from its first server");
        assert.deepEqual(dc2.ports, { http: 8501, dns: 8601 });
        assert.equal(dc1.subnet.text, "10.201.1.0/24");
        assert.deepEqual(
            dc1.instances.map((i) => [i.id, i.address]),
            [
                ["dc1-web-1", "10.201.1.201"],
                ["dc1-web-2", "10.201.1.202"],
            ],
        );
        assert.deepEqual(model.serviceNames, ["web"]);
        assert.deepEqual(model.kvSeed, [["app/config", "x"]]);
        assert.deepEqual(model.wan, { networkName: "consul-wan", subnet: model.wan.subnet, gateway: "10.201.0.1" });
    });

    test("names every Docker object once, with the prefix: networks, data volumes, acl-init containers", () => {
        const model = compileStack(
            settings({
                namePrefix: "lab-",
                datacenters: [
                    ...settings().datacenters,
                    {
                        name: "dc3",
                        federation: "peering",
                        servers: 1,
                        clients: 0,
                        subnet: "10.201.3.0/24",
                        httpPort: 8502,
                        dnsPort: 8602,
                    },
                ],
            }),
        );
        const [dc1, dc2, dc3] = model.datacenters;
        assert.equal(model.wan.networkName, "lab-consul-wan");
        assert.deepEqual(
            model.datacenters.map((dc) => [dc.lanNetworkName, dc.aclInitContainer]),
            [
                ["lab-dc1-lan", "lab-consul-acl-init"],
                ["lab-dc2-lan", undefined],
                ["lab-dc3-lan", "lab-consul-acl-init-dc3"],
            ],
        );
        assert.deepEqual(
            [...dc1.servers, ...dc1.clients].map((a) => [a.name, a.dataVolume]),
            [
                ["lab-dc1-server1", "lab-dc1-server1-data"],
                ["lab-dc1-server2", "lab-dc1-server2-data"],
                ["lab-dc1-server3", "lab-dc1-server3-data"],
                ["lab-dc1-client1", "lab-dc1-client1-data"],
            ],
        );
        assert.deepEqual(
            [dc2.servers[0].dataVolume, dc3.servers[0].dataVolume],
            ["lab-dc2-server1-data", "lab-dc3-server1-data"],
        );
        assert.deepEqual(
            dc1.instances.map((i) => i.id),
            ["lab-dc1-web-1", "lab-dc1-web-2"],
        );
    });

    test("every problem of every key is listed at once, each naming its key", () => {
        const problems = problemsOf(
            settings({
                image: "Not An Image",
                publishAddress: "999.1.1.1",
                keepData: true,
                kvSeed: { path: "missing.json" },
                baseConfig: { dir: "mine", files: { ...base, "server.hcl": undefined } },
                datacenters: [
                    { name: "DC1", servers: 0, clients: 1, subnet: "10.201.1.0/24", httpPort: 8500, dnsPort: 8500 },
                    { name: "dc2", servers: 1, clients: 1, subnet: "10.201.0.0/16", httpPort: 70000, dnsPort: 8601 },
                ],
            }),
        );
        const expected = [
            /^image must be a Docker image reference/,
            /^publishAddress must be an IPv4 address such as 127\.0\.0\.1, not "999\.1\.1\.1"/,
            /^baseConfigDir: mine must hold common\.hcl, server\.hcl, client\.hcl .*; server\.hcl missing/,
            /^kvSeed: missing\.json does not exist/,
            /^keepData: kept volumes hold the agents' gossip keyring/,
            /^datacenters\[0\]\.name must use only lowercase/,
            /^datacenters\[0\]\.servers must be a whole number from 1/,
            /^datacenters\[0\]\.dnsPort is 8500, which datacenters\[0\]\.httpPort already uses/,
            /^datacenters\[1\]\.httpPort must be a port number from 1 to 65535, not 70000/,
            /^datacenters\[1\]\.subnet \(10\.201\.0\.0\/16\) overlaps wanSubnet/,
            /^datacenters\[1\]\.subnet \(10\.201\.0\.0\/16\) overlaps datacenters\[0\]\.subnet/,
        ];
        for (const pattern of expected) {
            assert.ok(
                problems.some((p) => pattern.test(p)),
                `${pattern} not among:\n${problems.join("\n")}`,
            );
        }
        assert.equal(problems.length, expected.length, problems.join("\n"));
    });

    test("a KV seed that is not key/value strings is a problem of the kvSeed key", () => {
        assert.deepEqual(
            problemsOf(settings({ kvSeed: { path: "seed.json", text: '{"a": 1}' } })).map((p) => p.split("\n")[0]),
            ["kvSeed: seed.json:"],
        );
    });

    test("publishAddress takes any real IPv4 address, and no other text", () => {
        for (const ok of ["127.0.0.1", "0.0.0.0", "192.168.1.20"]) {
            assert.doesNotThrow(() => compileStack(settings({ publishAddress: ok })), ok);
        }
        for (const bad of ["999.1.1.1", "1.2.3", "localhost", "::1", "01.2.3.4"]) {
            assert.match(
                problemsOf(settings({ publishAddress: bad })).join("\n"),
                /^publishAddress must be an IPv4 address/,
                bad,
            );
        }
    });
});
