// Bad config is refused before anything is made, each problem naming its key and what is allowed: the
// stack config at preview, and ConsulFederation's args when another program uses it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { fakeState } from "../support/fake-state";
import { runProgram, stackConfig } from "../support/program";

describe("bad stack config fails at preview, naming the key and what is allowed", () => {
    const rejects = async (overrides: Record<string, unknown>, ...expected: RegExp[]) => {
        const config = stackConfig(overrides);
        await assert.rejects(
            runProgram({ computeState: fakeState, config, preview: true, secretKeys: ["gossipKey"] }),
            (err: Error) => {
                for (const pattern of expected) {
                    assert.match(err.message, pattern);
                }
                return true;
            },
        );
    };
    const withDc = (index: number, change: Record<string, unknown>) => {
        const dcs = structuredClone(stackConfig().datacenters) as Record<string, unknown>[];
        dcs[index] = { ...dcs[index], ...change };
        return { datacenters: dcs };
    };

    test("zero servers", () =>
        rejects(withDc(0, { servers: 0 }), /datacenters\[0\]\.servers must be a whole number from 1 to 89, not 0/));
    test("negative servers", () =>
        rejects(withDc(1, { servers: -2 }), /datacenters\[1\]\.servers must be a whole number from 1 to 89, not -2/));
    test("duplicate datacenter names", () =>
        rejects(withDc(1, { name: "dc1" }), /datacenters\[1\]\.name "dc1" is already used by datacenters\[0\]/));
    test("datacenter name outside [a-z0-9_-]", () =>
        rejects(
            withDc(1, { name: "DC 2" }),
            /datacenters\[1\]\.name must use only lowercase letters, digits, "_" and "-", not "DC 2"/,
        ));
    test("overlapping subnets", () =>
        rejects(
            withDc(1, { subnet: "10.201.0.0/16" }),
            /datacenters\[1\]\.subnet \(10\.201\.0\.0\/16\) overlaps wanSubnet/,
            /datacenters\[1\]\.subnet .* overlaps datacenters\[0\]\.subnet/,
        ));
    test("duplicate host ports", () =>
        rejects(
            withDc(1, { dnsPort: 8500 }),
            /datacenters\[1\]\.dnsPort is 8500, which datacenters\[0\]\.httpPort already uses/,
        ));
    test("malformed image reference", () =>
        rejects(
            { image: "hashicorp/Consul::latest" },
            /image must be a Docker image reference such as hashicorp\/consul:1\.22\.7/,
        ));
    test("gossip key that is not 16, 24 or 32 bytes of base64, without echoing it", async () => {
        const badKey = Buffer.alloc(20, 1).toString("base64");
        await rejects({ gossipKey: badKey }, /gossipKey must be base64 of 16, 24 or 32 bytes/);
        await assert.rejects(
            runProgram({ computeState: fakeState, config: stackConfig({ gossipKey: badKey }), preview: true }),
            (err: Error) => !err.message.includes(badKey),
        );
    });
    test("services on a datacenter without a client", () =>
        rejects(withDc(1, { clients: 0 }), /datacenters\[1\]\.services needs a client agent to register on/));
    test("a bad service: privileged port, bad name, too many instances", () =>
        rejects(
            withDc(0, { services: [{ name: "Web!", port: 80, instances: 51 }] }),
            /datacenters\[0\]\.services\[0\]\.name must be lowercase letters, digits and "-"/,
            /datacenters\[0\]\.services\[0\]\.port must be a port number from 1024 to 65535 \(instances run unprivileged\), not 80/,
            /datacenters\[0\]\.services\[0\]\.instances must be a whole number from 1 to 50, not 51/,
        ));
    test("a KV seed file that does not exist, or is not key/value strings", async (t) => {
        await rejects(
            { kvSeed: "consul-config/kv/missing.json" },
            /kvSeed: consul-config\/kv\/missing\.json does not exist/,
        );
        const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kv-")), "bad.json");
        t.after(() => fs.rmSync(path.dirname(bad), { recursive: true, force: true }));
        fs.writeFileSync(bad, JSON.stringify({ "app/size": 10 }));
        await rejects({ kvSeed: bad }, /kvSeed: .*bad\.json:\n {2}- app\/size must be a string/);
    });

    test("every problem is reported at once", () =>
        rejects(
            { ...withDc(0, { servers: 0, httpPort: 70000 }), wanSubnet: "10.0.0.1/24" },
            /datacenters\[0\]\.servers/,
            /datacenters\[0\]\.httpPort must be a port number from 1 to 65535/,
            /wanSubnet must be a network address/,
        ));
});

describe("ConsulFederation used from another program", () => {
    test("refuses bad args with one ResourceError that names each key", async () => {
        await pulumi.runtime.setMocks({
            newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }),
            call: () => ({}),
        });
        const { ConsulFederation } = await import("../../components");
        const args = {
            image: "hashicorp/consul:1.22.7",
            demoImage: "consul-multi-dc/demo-web:1.0",
            wanSubnet: "10.9.0.0/24",
            publishAddress: "999.1.1.1",
            namePrefix: "",
            keepData: false,
            dnsAnonymousRead: true,
            failoverQueries: true,
            datacenters: [
                { name: "DC1", servers: 0, clients: 1, subnet: "10.9.1.0/24", httpPort: 9500, dnsPort: 9600 },
            ],
        };
        assert.throws(
            () => new ConsulFederation("bad", args),
            (err: Error) => {
                assert.ok(pulumi.ResourceError.isInstance(err), "a ResourceError");
                assert.match(err.message, /^Invalid stack config:\n/);
                assert.match(
                    err.message,
                    /publishAddress must be an IPv4 address such as 127\.0\.0\.1, not "999\.1\.1\.1"/,
                );
                assert.match(err.message, /datacenters\[0\]\.name must use only lowercase letters/);
                assert.match(err.message, /datacenters\[0\]\.servers must be a whole number from 1 to 89, not 0/);
                return true;
            },
        );
    });
});
