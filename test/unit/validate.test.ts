// The rules compileStack applies: addresses, limits and warnings.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cidrsOverlap, hostAddress, parseCidr, Ipv4Cidr } from "../../components/model/cidr";
import { datacenterWarnings } from "../../components/model/parse";
import { devModel } from "../support/model";
import { stackConfig } from "../support/program";

// A mutable copy of the dev stack's config, for tests that change one field.
const settings = () => structuredClone(stackConfig()) as { datacenters: Record<string, unknown>[] } & Record<string, unknown>;
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
        assert.deepEqual(result.datacenters.map((d) => d.servers.map((s) => s.wanAddress)), [["10.201.0.11", "10.201.0.12", "10.201.0.13"], ["10.201.0.14"]]);
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
        const s = settings();
        s.datacenters[0].servers = 89;
        s.datacenters[1].servers = 89;
        s.datacenters.push({ name: "dc3", servers: 66, clients: 0, subnet: "10.201.3.0/24", httpPort: 8502, dnsPort: 8602 });
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
        assert.throws(() => plan({ ...settings(), publishAddress: "localhost" }), /publishAddress must be an IPv4 address/);
        assert.throws(() => plan({ ...settings(), namePrefix: "-x" }), /namePrefix must be empty or start with a letter or digit/);
    });
});

describe("the model of a datacenter", () => {
    test("servers from .11, clients from .101, gateway .1, names with the prefix", () => {
        const s = settings();
        s.namePrefix = "t-";
        s.datacenters.push({ name: "dc9", servers: 2, clients: 2, subnet: "10.9.0.0/24", httpPort: 8509, dnsPort: 8609 });
        const dc = devModel(s).datacenters[2];
        assert.equal(dc.gateway, "10.9.0.1");
        assert.deepEqual(dc.servers.map((x) => [x.name, x.lanAddress, x.wanAddress]), [
            ["t-dc9-server1", "10.9.0.11", "10.201.0.15"],
            ["t-dc9-server2", "10.9.0.12", "10.201.0.16"],
        ]);
        assert.deepEqual(dc.clients.map((c) => [c.name, c.lanAddress, c.wanAddress]), [
            ["t-dc9-client1", "10.9.0.101", undefined],
            ["t-dc9-client2", "10.9.0.102", undefined],
        ]);
    });
});
