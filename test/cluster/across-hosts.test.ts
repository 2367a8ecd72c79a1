// Cluster tier, across Docker hosts: the federation spread over three engines (dc1 on this machine's,
// dc2 and dc3 each on a test host from scripts/test-hosts.sh, reached over tcp:// with TLS), through
// the real engine, with dc4 beside dc3, a cluster of its own that peers with dc1. The servers federate (and
// peer) over the hosts' addresses; the tests probe it through each
// datacenter's published API on its host's address, cut a host's link, restart a host's engine, save both
// clusters' state (scripts/snapshot.sh, through each cluster's host) across a destroy and restore it, roll a
// base-config change over every host, and check that `pulumi destroy` leaves nothing on any of them.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { crossDcCall } from "../../scripts/mesh-failover";
import { docker, dockerOk } from "../support/docker";
import { changes, createStack, echo, existingStack, removeStack } from "../support/engine";
import { run } from "../support/process";
import { projectRoot, stackConfig } from "../support/program";
import { leftovers, tearDown } from "../support/teardown";
import {
    acrossHostsSettings,
    engineOf,
    acrossHostsPrefix as prefix,
    type TestHost,
    type TestHosts,
    testHosts,
    testHostsScript,
} from "../support/test-hosts";
import { api, ConsulCli, dnsA } from "./consul-cli";
import { assertOneAtATime, containerEvents } from "./day-two";
import { everyServerRefuses } from "./denials";
import { checkPrerequisites } from "./prerequisites";
import { runScript } from "./run-script";
import { eventually, sleep } from "./wait";

const stackName = "hosts-tier";
const image = stackConfig().image as string;
const datacenters = ["dc1", "dc2", "dc3"];

let pulumi: PulumiCommand;
let stack: Stack;
let hosts: TestHosts;
let upStartedAt = 0;
let upError: Error | undefined;
let out: {
    httpAddrs: Record<string, string>;
    dnsAddrs: Record<string, string>;
    ca: string;
    token: string;
    tokens: Record<string, string>;
    peerings: unknown;
};

/** The engine each datacenter runs on: docker's -H flags, empty for this machine's. */
const engines = (): Record<string, string[]> => ({
    dc1: [],
    dc2: engineOf(hosts.hosts[0]),
    dc3: engineOf(hosts.hosts[1]),
    dc4: engineOf(hosts.hosts[1]),
});
const hostB = (): TestHost => hosts.hosts[0];

/** The consul CLI in a container on a datacenter's engine, with the management token in its environment. */
async function consulIn(
    dc: string,
    container: string,
    ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
    return docker(
        [...engines()[dc], "exec", "--env", "CONSUL_HTTP_TOKEN", container, "consul", ...args],
        30_000,
        undefined,
        { CONSUL_HTTP_TOKEN: out.token },
    );
}

/** The names of the stack's containers on one host's `engine`, with any further `docker ps` label filters. */
async function stackContainers(engine: readonly string[], ...filters: string[]): Promise<string[]> {
    const format = ["--format", "{{.Names}}"];
    const only = [`label=consul.stack=${stackName}`, ...filters].flatMap((f) => ["--filter", f]);
    return (await dockerOk([...engine, "ps", "-a", ...only, ...format])).trim().split("\n").filter(Boolean);
}

/** The stack's outputs, afresh after each `pulumi up`: a new stack has new tokens and a new CA. */
async function readOutputs(): Promise<void> {
    const outputs = await stack.outputs();
    out = {
        httpAddrs: outputs.httpAddrs.value,
        dnsAddrs: outputs.dnsAddrs.value,
        ca: outputs.caCertPem.value,
        token: outputs.aclBootstrapToken.value,
        tokens: outputs.aclBootstrapTokens.value,
        peerings: outputs.peerings.value,
    };
}

/** The addresses of the passing web instances `through` imports from `peer`, asked with `through`'s own cluster's token. */
async function importedWeb(through: string, peer: string): Promise<string | undefined> {
    const res = await api(out.httpAddrs[through], `/v1/health/service/web?peer=${peer}&passing`, {
        ca: out.ca,
        token: out.tokens[through],
    });
    return res.status === 200
        ? (JSON.parse(res.body) as { Service: { Address: string } }[])
              .map((e) => e.Service.Address)
              .sort()
              .join()
        : undefined;
}
const dc1Web = "10.202.1.201,10.202.1.202";
const dc4Web = "10.202.4.201";

const kv = {
    put: (dc: string, key: string, value: string) =>
        api(out.httpAddrs[dc], `/v1/kv/${key}`, { ca: out.ca, token: out.token, method: "PUT", body: value }),
    /** The value as read through `through`'s published API from datacenter `of`; undefined when it cannot. */
    get: async (through: string, of: string, key: string) => {
        const res = await api(out.httpAddrs[through], `/v1/kv/${key}?dc=${of}&raw`, {
            ca: out.ca,
            token: out.token,
            timeoutMs: 3000,
        }).catch(() => undefined);
        return res?.status === 200 ? res.body : undefined;
    },
};

/** Names of the alive WAN members, as dc1-server1 sees them. */
async function aliveWan(): Promise<string[]> {
    const members = await new ConsulCli(out.token).members(`${prefix}dc1-server1`, "-wan");
    return members
        .filter((m) => m.status === "alive")
        .map((m) => m.node)
        .sort();
}

const allServers = [
    `${prefix}dc1-server1.dc1`,
    `${prefix}dc1-server2.dc1`,
    `${prefix}dc1-server3.dc1`,
    `${prefix}dc2-server1.dc2`,
    `${prefix}dc3-server1.dc3`,
];

before(async () => {
    pulumi = await checkPrerequisites(image);
    hosts = await testHosts();
    for (const host of hosts.hosts) {
        const loaded = await docker([...engineOf(host), "image", "inspect", image]);
        assert.equal(
            loaded.code,
            0,
            `the image ${image} is not on test host ${host.name}: run scripts/test-hosts.sh up (or npm run prereqs)`,
        );
    }
    assert.deepEqual(
        await tearDown(pulumi, stackName, Object.values(engines())),
        [],
        "an earlier run's cluster could not be removed",
    );
    stack = await createStack(pulumi, stackName, acrossHostsSettings(hosts, { peer: true }));
    upStartedAt = Date.now();
    try {
        await stack.up({ onOutput: echo("  hosts up |") });
        console.log(`across hosts: pulumi up returned in ${Date.now() - upStartedAt} ms`);
        await readOutputs();
    } catch (e) {
        upError = e as Error;
    }
});

after(async () => {
    await run("bash", [testHostsScript, "link", hostB().name, "up"]);
    if (pulumi && (await existingStack(pulumi, stackName)) !== undefined) {
        assert.deepEqual(
            await tearDown(pulumi, stackName, Object.values(engines())),
            [],
            "cleanup after a failed run left resources behind",
        );
    }
});

describe("across Docker hosts", () => {
    test("`pulumi up` deploys dc1 here, dc2 on a second Docker host, and dc3 and its peering neighbour dc4 on a third", () => {
        if (upError) {
            throw upError;
        }
        assert.deepEqual(Object.keys(out.httpAddrs).sort(), [...datacenters, "dc4"]);
        assert.equal(out.httpAddrs.dc2, `${hosts.hosts[0].address}:8500`, "dc2 publishes on its host's address");
        assert.equal(out.httpAddrs.dc3, `${hosts.hosts[1].address}:8500`, "dc3 publishes on its host's address");
        assert.equal(
            out.httpAddrs.dc4,
            `${hosts.hosts[1].address}:8501`,
            "dc4 publishes on its host's address, beside dc3",
        );
    });

    test("the WAN pool lists every server alive, and a key written in dc1 reads back through dc2's and dc3's published APIs", async () => {
        await eventually("every WAN server alive", 60, async () =>
            (await aliveWan()).join() === allServers.join() ? true : undefined,
        );
        const stamp = String(Date.now());
        assert.equal((await kv.put("dc1", "hosts/converged", stamp)).status, 200);
        await eventually("dc1's key through dc2 and dc3", 30, async () =>
            (await kv.get("dc2", "dc1", "hosts/converged")) === stamp &&
            (await kv.get("dc3", "dc1", "hosts/converged")) === stamp
                ? true
                : undefined,
        );
        console.log(
            `across hosts: cross-DC KV (written through dc1, read through dc2 and dc3 on their hosts) at +${Date.now() - upStartedAt} ms from the start of pulumi up`,
        );
    });

    test("each datacenter's demo service is discoverable from every other", async () => {
        for (const from of datacenters) {
            for (const of of datacenters.filter((d) => d !== from)) {
                const res = await api(out.httpAddrs[from], `/v1/health/service/web?dc=${of}&passing`, {
                    ca: out.ca,
                    token: out.token,
                });
                assert.equal(res.status, 200, `${from} asking ${of}: ${res.body}`);
                const entries = JSON.parse(res.body) as { Node: { Datacenter: string } }[];
                assert.ok(
                    entries.length > 0 && entries.every((e) => e.Node.Datacenter === of),
                    `${from} finds ${of}'s web instances: ${res.body}`,
                );
            }
        }
    });

    everyServerRefuses(
        () => stack,
        (dc) => engines()[dc],
    );

    test("dc4, a cluster of its own beside dc3 on host C, peers with dc1 over the hosts' addresses: each finds the other's web over HTTP and DNS", async () => {
        assert.deepEqual(out.peerings, { dc4: { dc1: "ACTIVE", dc4: "ACTIVE" } });
        // ACTIVE means the stream is up; the exported services follow over it.
        await eventually("each side importing the other's web", 30, async () =>
            (await importedWeb("dc1", "dc4")) === dc4Web && (await importedWeb("dc4", "dc1")) === dc1Web
                ? true
                : undefined,
        );
        console.log(
            `across hosts: dc4's web found through dc1's API, and dc1's through dc4's, at +${Date.now() - upStartedAt} ms from the start of pulumi up`,
        );
        assert.deepEqual(await dnsA(out.dnsAddrs.dc1, "web.service.dc4.peer.consul"), ["10.202.4.201"]);
        assert.equal((await dnsA(out.dnsAddrs.dc4, "web.service.dc1.peer.consul")).join(), dc1Web);
        assert.ok(!(await aliveWan()).some((m) => m.endsWith(".dc4")), "dc4 is not in the WAN pool");
    });

    test("the mesh across hosts: frontend's identity reaches dc2's web on host B through dc1's gateway and dc2's, on the hosts' addresses", async () => {
        const gateway = await api(out.httpAddrs.dc1, "/v1/catalog/service/mesh-gateway?dc=dc2", {
            ca: out.ca,
            token: out.token,
        });
        const registered = JSON.parse(gateway.body) as {
            ServiceTaggedAddresses: { wan: { Address: string; Port: number } };
        }[];
        assert.deepEqual(
            registered.map((g) => g.ServiceTaggedAddresses.wan),
            [{ Address: hostB().address, Port: 8443 }],
            "dc2's gateway is reached on host B's address",
        );
        // The stack peers with dc4, and Consul exports no service whose calls fail over across datacenters, so
        // this stack has no resolver: the call names dc2 itself, as a sidecar's upstream to dc2 would.
        const call = crossDcCall(
            "10.202.1.254",
            "frontend",
            { service: "web", datacenter: "dc2" },
            (method, urlPath, token) => api(out.httpAddrs.dc1, urlPath, { ca: out.ca, token, method }),
            async () => out.token,
        );
        const began = Date.now();
        await eventually("web in dc2 answering through both gateways", 60, async () =>
            (await call()) ? true : undefined,
        );
        console.log(`across hosts: frontend's identity reached dc2's web on host B in ${Date.now() - began} ms`);
    });

    test("sitePorts lists exactly the ports each datacenter publishes on its host's address for the other sites", async () => {
        const sitePorts = (await stack.outputs()).sitePorts.value as Record<string, string[]>;
        const addressOf: Record<string, string> = {
            dc1: hosts.local.address,
            dc2: hosts.hosts[0].address,
            dc3: hosts.hosts[1].address,
            dc4: hosts.hosts[1].address,
        };
        const published: Record<string, string[]> = {};
        for (const [dc, engine] of Object.entries(engines())) {
            // What a user reaches (the API and DNS on httpAddrs and dnsAddrs) is not for the other sites.
            const forUsers = [out.httpAddrs[dc], out.dnsAddrs[dc]].map((a) => a.split(":").pop());
            const ports = new Set<string>();
            for (const name of await stackContainers(engine, `label=consul.datacenter=${dc}`)) {
                const bindings = JSON.parse(
                    await dockerOk([...engine, "inspect", "--format", "{{json .NetworkSettings.Ports}}", name]),
                ) as Record<string, { HostIp: string; HostPort: string }[] | null>;
                for (const [inside, outside] of Object.entries(bindings)) {
                    for (const b of outside ?? []) {
                        if (b.HostIp === addressOf[dc] && !forUsers.includes(b.HostPort)) {
                            ports.add(`${b.HostPort}/${inside.split("/")[1]}`);
                        }
                    }
                }
            }
            published[dc] = [...ports].sort();
        }
        const sorted = Object.fromEntries(Object.entries(sitePorts).map(([dc, p]) => [dc, [...p].sort()]));
        assert.deepEqual(sorted, published);
        console.log(`sitePorts: ${JSON.stringify(sitePorts)}`);
    });

    test("each host runs only its own datacenters' containers", async () => {
        const own: Record<string, string[]> = {
            dc1: ["dc1-", "consul-acl-init"],
            dc2: ["dc2-"],
            dc3: ["dc3-", "dc4-", "consul-acl-init-dc4"],
        };
        for (const [dc, engine] of Object.entries(engines()).filter(([dc]) => own[dc])) {
            const names = await stackContainers(engine);
            assert.ok(names.length >= 3, `${dc}'s host runs ${names.join(", ")}`);
            assert.deepEqual(
                names.filter((n) => !own[dc].some((p) => n.startsWith(`${prefix}${p}`))),
                [],
                `containers on ${dc}'s host that are not its datacenters'`,
            );
        }
    });

    test("a second `pulumi preview` reports no changes", async () => {
        const preview = await stack.preview({ onOutput: echo("  hosts preview |") });
        assert.deepEqual(changes(preview.changeSummary), {});
    });

    test("no --parallel refusal: a preview at --parallel 1 goes through (the up above ran at Pulumi's default)", async () => {
        const preview = await stack.preview({ onOutput: echo("  hosts preview |"), parallel: 1 });
        assert.doesNotMatch(preview.stdout, /--parallel/);
    });

    test("an image missing on a host fails the preview, naming the host and how to load the image there", async () => {
        const missing = "consul-multi-dc/demo-web:missing-on-hosts";
        await dockerOk(["tag", stackConfig().demoImage as string, missing]);
        await stack.setConfig("demoImage", { value: missing });
        try {
            const refused = await stack.preview({ onOutput: echo("  hosts preview |") }).then(
                () => undefined,
                (e: Error) => e,
            );
            assert.ok(refused, "the preview went through without the image on the test hosts");
            assert.match(
                refused.message,
                new RegExp(
                    `The image ${missing} is not on dc2's Docker host \\(${hostB().dockerHost}\\), and its registry cannot be reached`,
                ),
            );
            assert.ok(
                refused.message.includes(`docker save ${missing} | docker -H ${hostB().dockerHost} --tlsverify`),
                refused.message,
            );
        } finally {
            await stack.removeConfig("demoImage");
            await dockerOk(["rmi", missing]);
        }
        assert.equal(
            (await docker([...engineOf(hostB()), "image", "inspect", missing])).code,
            1,
            "the preview put nothing on the host",
        );
    });

    test("host B's link cut for 10 s: dc2 serves its own catalog and KV, dc1 and dc3 keep working; federation heals by itself", async () => {
        assert.equal(
            (await consulIn("dc2", `${prefix}dc2-client1`, "kv", "put", "hosts/dc2/before-cut", "kept")).code,
            0,
        );
        const cutAt = Date.now();
        await runOk(testHostsScript, "link", hostB().name, "down");
        let linkUpAt = 0;
        try {
            // The cut is real: dc1 cannot read dc2's KV.
            assert.equal(
                await kv.get("dc1", "dc2", "hosts/dc2/before-cut"),
                undefined,
                "dc1 still reads dc2's KV through the cut",
            );
            // dc2 on its own host, through its engine's socket: its catalog, its KV, a new write.
            const services = await consulIn("dc2", `${prefix}dc2-client1`, "catalog", "services");
            assert.equal(services.code, 0, services.stderr);
            assert.match(services.stdout, /^web$/m);
            assert.equal(
                (await consulIn("dc2", `${prefix}dc2-client1`, "kv", "get", "hosts/dc2/before-cut")).stdout.trim(),
                "kept",
            );
            assert.equal(
                (await consulIn("dc2", `${prefix}dc2-client1`, "kv", "put", "hosts/dc2/during-cut", "written")).code,
                0,
            );
            // dc1 writes, and dc3 reads it.
            assert.equal((await kv.put("dc1", "hosts/during-cut", "dc1")).status, 200);
            await eventually("dc3 reading dc1's key during the cut", 15, async () =>
                (await kv.get("dc3", "dc1", "hosts/during-cut")) === "dc1" ? true : undefined,
            );
            await sleep(Math.max(0, cutAt + 10_000 - Date.now()));
        } finally {
            await runOk(testHostsScript, "link", hostB().name, "up");
            linkUpAt = Date.now();
        }
        // Healed: dc2 is alive in the WAN pool again, and each side reads the other's KV.
        await eventually("federation healed", 90, async () =>
            (await aliveWan()).includes(`${prefix}dc2-server1.dc2`) &&
            (await kv.get("dc1", "dc2", "hosts/dc2/during-cut")) === "written" &&
            (await kv.get("dc2", "dc1", "hosts/during-cut")) === "dc1"
                ? true
                : undefined,
        );
        console.log(
            `across hosts: host B's link cut for ${linkUpAt - cutAt} ms; federation healed ${Date.now() - linkUpAt} ms after the link came back`,
        );
    });

    test("host B's Docker engine restarted: dc2 comes back with its data, and federated", async () => {
        const restartedAt = Date.now();
        await runOk(testHostsScript, "restart", hostB().name);
        const engine = engines().dc2;
        await eventually("dc2's agents healthy again", 90, async () => {
            for (const c of [`${prefix}dc2-server1`, `${prefix}dc2-client1`]) {
                if (
                    (await dockerOk([...engine, "inspect", "--format", "{{.State.Health.Status}}", c])).trim() !==
                    "healthy"
                )
                    return undefined;
            }
            return true;
        });
        await eventually("dc2's data through its own API and dc1's", 60, async () =>
            (await kv.get("dc2", "dc2", "hosts/dc2/before-cut")) === "kept" &&
            (await kv.get("dc1", "dc2", "hosts/dc2/during-cut")) === "written"
                ? true
                : undefined,
        );
        console.log(
            `across hosts: host B's engine restarted; dc2 healthy, with its data and federated, ${Date.now() - restartedAt} ms after the restart began`,
        );
    });

    test("snapshot save, destroy, up, restore across hosts: dc1's key, dc2's and dc4's own keys come back, the peering works again, every agent on every host healthy", async () => {
        const written = {
            dc1: `in dc1 at ${Date.now()}`,
            dc2: `in dc2 on host B at ${Date.now()}`,
            dc4: `in dc4 on host C at ${Date.now()}`,
        };
        const key = (dc: "dc1" | "dc2" | "dc4") => `hosts/saved/${dc}`;
        const read = async (dc: "dc1" | "dc2" | "dc4") =>
            api(out.httpAddrs[dc], `/v1/kv/${key(dc)}?raw`, { ca: out.ca, token: out.tokens[dc] });
        for (const dc of ["dc1", "dc2", "dc4"] as const) {
            assert.equal(
                (
                    await api(out.httpAddrs[dc], `/v1/kv/${key(dc)}`, {
                        ca: out.ca,
                        token: out.tokens[dc],
                        method: "PUT",
                        body: written[dc],
                    })
                ).status,
                200,
            );
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hosts-snapshot-"));
        const file = path.join(dir, "stack.snap");
        const snapshot = async (verb: "save" | "restore") => {
            const result = await runScript("snapshot.sh", [verb, file, "--stack", stackName]);
            console.log(result.out.trim().replace(/^/gm, `  snapshot ${verb} | `));
            assert.equal(result.code, 0, result.out);
            return result.out;
        };
        try {
            const saved = await snapshot("save");
            assert.match(saved, /saved dc1's state from xh-dc1-server\d/);
            assert.match(saved, /saved dc2's state from xh-dc2-server1/);
            assert.match(saved, /saved dc3's state from xh-dc3-server1/);
            assert.match(saved, /saved dc4's state from xh-dc4-server1/);

            await stack.destroy({ onOutput: echo("  hosts destroy |") });
            for (const [dc, engine] of Object.entries(engines())) {
                assert.deepEqual(await leftovers(stackName, engine), [], `left behind on ${dc}'s host`);
            }
            await stack.up({ onOutput: echo("  hosts up |") });
            await readOutputs();
            for (const dc of ["dc1", "dc2", "dc4"] as const) {
                assert.equal((await read(dc)).status, 404, `the new stack's ${dc} starts without the key`);
            }

            const began = Date.now();
            const restored = await snapshot("restore");
            console.log(
                `across hosts: all four datacenters restored, every agent working, ${Date.now() - began} ms after scripts/snapshot.sh restore started`,
            );
            assert.match(restored, /dc1's cluster \(dc1, dc2, dc3\) has the stack's tokens again/);
            assert.match(restored, /restored .*'s state of dc2 through xh-dc2-server1/);
            assert.match(restored, /restored .*'s state of dc4 through xh-dc4-server1/);
            for (const dc of ["dc1", "dc2", "dc4"] as const) {
                assert.equal((await read(dc)).body, written[dc], `${dc}'s own key is back`);
            }
            await eventually("dc3 on host C reading dc1's restored key across the WAN", 30, async () =>
                (await kv.get("dc3", "dc1", key("dc1"))) === written.dc1 ? true : undefined,
            );
            for (const [dc, engine] of Object.entries(engines())) {
                for (const name of await stackContainers(engine, `label=consul.datacenter=${dc}`)) {
                    await eventually(`${name} healthy on ${dc}'s host`, 120, async () =>
                        (
                            await dockerOk([...engine, "inspect", "--format", "{{.State.Health.Status}}", name])
                        ).trim() === "healthy"
                            ? true
                            : undefined,
                    );
                }
            }
            await eventually("each side of the peering importing the other's web again", 90, async () =>
                (await importedWeb("dc1", "dc4")) === dc4Web && (await importedWeb("dc4", "dc1")) === dc1Web
                    ? true
                    : undefined,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("a base-config change rolls on every host, dc1's servers one at a time", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-config-"));
        fs.cpSync(path.join(projectRoot, "consul-config"), dir, { recursive: true });
        const marker = "# Changed by the cluster tier across hosts";
        fs.appendFileSync(
            path.join(dir, "common.hcl"),
            `\n${marker}: DNS answers for nodes may be cached for 5 s.\ndns_config {\n  node_ttl = "5s"\n}\n`,
        );
        const dc1Servers = [1, 2, 3].map((n) => `${prefix}dc1-server${n}`);
        try {
            const events = await containerEvents(async () => {
                await stack.setConfig("baseConfigDir", { value: dir });
                const up = await stack.up({ onOutput: echo("  hosts rollout |") });
                assert.equal(up.summary.resourceChanges?.replace, 10, "every agent of every datacenter is replaced");
            });
            assertOneAtATime(events, dc1Servers);
            const agents = Object.fromEntries(
                ["dc2", "dc3", "dc4"].map((dc) => [dc, [`${prefix}${dc}-server1`, `${prefix}${dc}-client1`]]),
            );
            agents.dc1 = [...dc1Servers, `${prefix}dc1-client1`];
            for (const [dc, names] of Object.entries(agents)) {
                for (const name of names) {
                    const common = await dockerOk([...engines()[dc], "exec", name, "cat", "/consul/config/common.hcl"]);
                    assert.ok(common.includes(marker), `${name} runs the changed base config`);
                }
            }
            await eventually("every WAN server alive after the rollout", 60, async () =>
                (await aliveWan()).join() === allServers.join() ? true : undefined,
            );
            assert.equal((await kv.put("dc1", "hosts/after-rollout", "yes")).status, 200);
            await eventually("dc3 reading dc1's key after the rollout", 30, async () =>
                (await kv.get("dc3", "dc1", "hosts/after-rollout")) === "yes" ? true : undefined,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("`pulumi destroy` leaves nothing of the stack on any host, and keeps the images", async () => {
        const destroy = await stack.destroy({ onOutput: echo("  hosts destroy |") });
        assert.equal(destroy.summary.result, "succeeded");
        for (const [dc, engine] of Object.entries(engines())) {
            assert.deepEqual(await leftovers(stackName, engine), [], `left behind on ${dc}'s host`);
            assert.equal(
                (await docker([...engine, "image", "inspect", image])).code,
                0,
                `the image stays on ${dc}'s host`,
            );
        }
        await removeStack(stack);
        assert.equal(await existingStack(pulumi, stackName), undefined);
    });
});

async function runOk(script: string, ...args: string[]): Promise<void> {
    const result = await run("bash", [script, ...args]);
    assert.equal(result.code, 0, `${path.basename(script)} ${args.join(" ")}: ${result.stderr}`);
}
