// The one pass from the config as written to typed values and every problem (parse.ts), and the rules
// compileStack applies: addresses, limits and warnings.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cidrsOverlap, hostAddress, type Ipv4Cidr, parseCidr } from "../../components/model/cidr";
import { datacenterWarnings, parseStack } from "../../components/model/parse";
import type { StackSettings } from "../../components/model/settings";
import { baseFiles as base, devModel, smallSettings } from "../support/model";
import { meshlessConfig, stackConfig } from "../support/program";

describe("parseStack", () => {
    const gossipKey = Buffer.alloc(32, 7).toString("base64");
    const good = smallSettings({
        namePrefix: "lab-",
        gossipKey,
        keepData: true,
        dnsAnonymousRead: false,
        kvSeed: { path: "seed.json", text: '{"app/config": "x", "app/size": "10"}' },
        datacenters: [
            { ...smallSettings().datacenters[0], hostAddress: "192.168.1.10", services: [{ name: "web", port: 8080 }] },
            {
                ...smallSettings().datacenters[1],
                federation: "peering",
                dockerHost: "ssh://ops@h",
                dockerSshOpts: ["-v"],
                hostAddress: "192.168.1.20",
            },
        ],
    });
    /** `good` with `over` on top, values of any type: the config as a user may write it. */
    const written = (over: Record<string, unknown>) => ({ ...good, ...over }) as unknown as StackSettings;

    test("a good config comes back as typed values: CIDRs parsed, the seed's pairs, every default filled in", () => {
        const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;
        assert.deepEqual(parseStack(good), {
            problems: [],
            config: {
                image: "hashicorp/consul:1.22.7",
                demoImage: "consul-multi-dc/demo-web:1.0",
                envoyImage: "consul-multi-dc/envoy:1.36.2-consul1.22.7",
                wanSubnet: cidr("10.201.0.0/24"),
                publishAddress: "127.0.0.1",
                namePrefix: "lab-",
                gossipKey,
                keepData: true,
                dnsAnonymousRead: false,
                failoverQueries: true,
                kvSeed: [
                    ["app/config", "x"],
                    ["app/size", "10"],
                ],
                baseConfig: base,
                datacenters: [
                    {
                        name: "dc1",
                        servers: 3,
                        clients: 1,
                        subnet: cidr("10.201.1.0/24"),
                        httpPort: 8500,
                        dnsPort: 8600,
                        federation: "wan",
                        services: [
                            {
                                name: "web",
                                port: 8080,
                                tags: [],
                                instances: 1,
                                check: { path: "/health", intervalSeconds: 5 },
                            },
                        ],
                        host: { sshOpts: [], address: "192.168.1.10" },
                    },
                    {
                        name: "dc2",
                        servers: 1,
                        clients: 0,
                        subnet: cidr("10.201.2.0/24"),
                        httpPort: 8501,
                        dnsPort: 8601,
                        federation: "peering",
                        services: [],
                        host: { endpoint: "ssh://ops@h", sshOpts: ["-v"], address: "192.168.1.20" },
                    },
                ],
                hostAddresses: ["192.168.1.10", "192.168.1.20"],
            },
        });
        const local = parseStack({
            ...good,
            gossipKey: undefined,
            keepData: false,
            kvSeed: undefined,
            datacenters: [{ ...good.datacenters[0], hostAddress: undefined }],
        }).config;
        assert.deepEqual(
            [local?.gossipKey, local?.kvSeed, local?.hostAddresses, local?.datacenters[0].host],
            [undefined, [], undefined, { sshOpts: [] }],
        );
    });

    test("a bad config gives no values and every problem, each naming its key and what is allowed", () => {
        const { config, problems } = parseStack(
            written({
                image: 42,
                demoImage: "x y",
                wanSubnet: "10.201.0.0/33",
                publishAddress: "01.2.3.4",
                namePrefix: "-x",
                gossipKey: "c2hvcnQ=",
                keepData: "yes",
                dnsAnonymousRead: 1,
                failoverQueries: undefined,
                kvSeed: { path: "seed.json", text: "[]" },
                baseConfig: { dir: "mine", files: { ...base, "client.hcl": undefined } },
                datacenters: [
                    {
                        name: "DC1",
                        sevrers: 3,
                        clients: -1,
                        subnet: "10.201.1.0/24",
                        httpPort: 8500,
                        dnsPort: 8500,
                        federation: "peering",
                        services: [{ name: "web", prot: 8080, check: { path: "health", interval: 2 } }],
                    },
                    "dc2",
                    {
                        name: "dc3",
                        servers: 1.5,
                        clients: 1,
                        subnet: "10.201.1.0/25",
                        httpPort: 70000,
                        dnsPort: 8601,
                        federation: "mesh",
                        dockerHost: "http://x",
                        hostAddress: "0.0.0.0",
                    },
                ],
            }),
        );
        assert.equal(config, undefined);
        const allowed =
            "name, servers, clients, subnet, httpPort, dnsPort, services, dockerHost, dockerCertPath, dockerSshOpts, hostAddress, federation";
        assert.deepEqual(problems, [
            "image must be a Docker image reference such as hashicorp/consul:1.22.7, not 42",
            'demoImage must be a Docker image reference such as hashicorp/consul:1.22.7, not "x y"',
            "gossipKey must be base64 of 16, 24 or 32 bytes (as `consul keygen` prints); the value given is not",
            'publishAddress must be an IPv4 address such as 127.0.0.1, not "01.2.3.4"',
            'namePrefix must be empty or start with a letter or digit followed by letters, digits, "_", "." or "-", not "-x"',
            'keepData must be true or false, not "yes"',
            "dnsAnonymousRead must be true or false, not 1",
            "failoverQueries must be true or false, not undefined",
            "baseConfigDir: mine must hold common.hcl, server.hcl, client.hcl (copy consul-config/ and change it); client.hcl missing",
            'kvSeed: seed.json must hold one JSON object of "key": "value" pairs',
            "wanSubnet must have a prefix length from /8 to /24 (room for the fixed agent addresses), not /33",
            `datacenters[0].sevrers is not a key of a datacenter; allowed: ${allowed}`,
            'datacenters[0].name must use only lowercase letters, digits, "_" and "-", not "DC1"',
            "datacenters[0].servers must be a whole number from 1 to 89, not undefined",
            "datacenters[0].clients must be a whole number from 0 to 100, not -1",
            "datacenters[0].services[0].prot is not a key of a service; allowed: name, port, tags, instances, check, upstream, " +
                "publishPort",
            "datacenters[0].services[0].port must be a port number from 1024 to 65535 (instances run unprivileged), not undefined",
            "datacenters[0].services[0].check.interval is not a key of a service check; allowed: path, intervalSeconds",
            'datacenters[0].services[0].check.path must be a URL path starting with "/", not "health"',
            "datacenters[0].hostAddress is required when the datacenters run on more than one Docker host: the other datacenters' servers " +
                'reach "DC1"\'s servers on that address',
            `datacenters[1] must be a datacenter: an object with ${allowed}, not "dc2"`,
            "datacenters[2].servers must be a whole number from 1 to 89, not 1.5",
            "datacenters[2].subnet must have a prefix length from /8 to /24 (room for the fixed agent addresses), not /25",
            'datacenters[2].federation must be "wan" or "peering", not "mesh"',
            "datacenters[2].httpPort must be a port number from 1 to 65535, not 70000",
            'datacenters[2].dockerHost must be a Docker endpoint: unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST[:PORT], not "http://x" (leave it unset for the local engine)',
            'datacenters[2].hostAddress must be the IPv4 address other datacenters and you reach this host on, such as 192.168.1.20, not "0.0.0.0"',
            'datacenters[0].federation cannot be "peering": the first datacenter is the primary, which WAN datacenters join and peering ' +
                'datacenters peer with. Put a "wan" datacenter first, or leave federation unset there.',
            "datacenters[0].dnsPort is 8500, which datacenters[0].httpPort already uses; each host port must be unique on a Docker host",
        ]);
    });

    test("an unknown key of a datacenter is named with the keys a datacenter takes, at preview too", () => {
        const [dc1, dc2] = good.datacenters;
        assert.deepEqual(parseStack(written({ datacenters: [dc1, { ...dc2, sevrers: 1, dns_port: 53 }] })).problems, [
            "datacenters[1].sevrers is not a key of a datacenter; allowed: name, servers, clients, subnet, httpPort, dnsPort, services, " +
                "dockerHost, dockerCertPath, dockerSshOpts, hostAddress, federation",
            "datacenters[1].dns_port is not a key of a datacenter; allowed: name, servers, clients, subnet, httpPort, dnsPort, services, " +
                "dockerHost, dockerCertPath, dockerSshOpts, hostAddress, federation",
        ]);
    });
});

// A mutable copy of the dev stack's config, for tests that change one field.
const settings = () =>
    structuredClone(stackConfig()) as { datacenters: Record<string, unknown>[] } & Record<string, unknown>;
const plan = (s: Record<string, unknown>) => devModel(s);

describe("cidr", () => {
    test("parses a network and computes host addresses", () => {
        const cidr = parseCidr("10.201.1.0/24") as Ipv4Cidr;
        assert.equal(hostAddress(cidr, 11), "10.201.1.11");
        assert.equal(hostAddress(parseCidr("10.201.0.0/16") as Ipv4Cidr, 300), "10.201.1.44");
    });
    test("rejects malformed text, host bits and prefixes outside /8–/24", () => {
        assert.match(parseCidr("10.201.1.5/24") as string, /host bits set/);
        assert.match(parseCidr("10.201.1.0/28") as string, /from \/8 to \/24/);
        assert.match(parseCidr("300.1.1.0/24") as string, /must be an IPv4 CIDR/);
        assert.match(parseCidr(42) as string, /must be an IPv4 CIDR string/);
    });
    test("overlap", () => {
        const c = (t: string) => parseCidr(t) as Ipv4Cidr;
        assert.equal(cidrsOverlap(c("10.0.0.0/24"), c("10.0.1.0/24")), false);
        assert.equal(cidrsOverlap(c("10.0.0.0/16"), c("10.0.1.0/24")), true);
    });
});

describe("compileStack: stack-wide rules", () => {
    test("the first datacenter is primary and WAN addresses run on across datacenters", () => {
        const result = plan(settings());
        assert.equal(result.primaryDatacenter, "dc1");
        assert.deepEqual(
            result.datacenters.map((d) => d.servers.map((s) => s.wanAddress)),
            [["10.201.0.11", "10.201.0.12", "10.201.0.13"], ["10.201.0.14"]],
        );
        assert.deepEqual([result.wan.subnet.text, result.wan.gateway], ["10.201.0.0/24", "10.201.0.1"]);
        assert.deepEqual(result.warnings, []);
    });
    test("an even server count or more than 7 servers warns but does not fail", () => {
        const s = settings();
        s.datacenters[0].servers = 4;
        s.datacenters[1].servers = 9;
        const result = plan(s);
        assert.equal(result.warnings.length, 2);
        assert.match(result.warnings[0], /datacenters\[0\]\.servers is 4 in dc1: an even number/);
        assert.match(result.warnings[1], /datacenters\[1\]\.servers is 9 in dc2: more than 7 servers/);
        assert.deepEqual(datacenterWarnings("dc1", 8, "k").length, 2);
        assert.deepEqual(datacenterWarnings("dc1", 1, "k"), []);
    });
    test("a WAN subnet too small for every server is refused", () => {
        // Without the mesh, whose gateways take WAN addresses too (mesh.test.ts) and need a client in each datacenter.
        const s = structuredClone(meshlessConfig()) as ReturnType<typeof settings>;
        s.datacenters[0].servers = 89;
        s.datacenters[1].servers = 89;
        s.datacenters.push({
            name: "dc3",
            servers: 66,
            clients: 0,
            subnet: "10.201.3.0/24",
            httpPort: 8502,
            dnsPort: 8602,
        });
        assert.doesNotThrow(() => plan(s), "244 servers fit in .11–.254");
        s.datacenters[2].servers = 67;
        assert.throws(() => plan(s), /wanSubnet 10\.201\.0\.0\/24 has no room for 245 servers/);
    });
    test("an empty datacenter list is refused", () => {
        const s = settings();
        s.datacenters.length = 0;
        assert.throws(() => plan(s), /datacenters must be a list of at least one datacenter/);
    });
    test("a bad publishAddress or namePrefix is refused", () => {
        assert.throws(
            () => plan({ ...settings(), publishAddress: "localhost" }),
            /publishAddress must be an IPv4 address/,
        );
        assert.throws(
            () => plan({ ...settings(), namePrefix: "-x" }),
            /namePrefix must be empty or start with a letter or digit/,
        );
    });
});

describe("the model of a datacenter", () => {
    test("servers from .11, clients from .101, gateway .1, names with the prefix", () => {
        const s = settings();
        s.namePrefix = "t-";
        s.datacenters.push({
            name: "dc9",
            servers: 2,
            clients: 2,
            subnet: "10.9.0.0/24",
            httpPort: 8509,
            dnsPort: 8609,
        });
        const dc = devModel(s).datacenters[2];
        assert.equal(dc.gateway, "10.9.0.1");
        assert.deepEqual(
            dc.servers.map((x) => [x.name, x.lanAddress, x.wanAddress]),
            [
                ["t-dc9-server1", "10.9.0.11", "10.201.0.15"],
                ["t-dc9-server2", "10.9.0.12", "10.201.0.16"],
            ],
        );
        assert.deepEqual(
            dc.clients.map((c) => [c.name, c.lanAddress, c.wanAddress]),
            [
                ["t-dc9-client1", "10.9.0.101", undefined],
                ["t-dc9-client2", "10.9.0.102", undefined],
            ],
        );
    });
});
