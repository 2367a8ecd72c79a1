// Which changes to what runs now a running cluster can take in one `pulumi up`, and which it cannot: the pure
// rules, and the program refusing at preview what the Docker host says runs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileStack } from "../../components/model/compile";
import {
    type NetworkRead,
    type RunningShape,
    runningShape,
    shapeChangeProblems,
    shrinkSteps,
} from "../../components/model/running-shape";
import type { StackModel } from "../../components/model/stack-model";
import { fakeState } from "../support/fake-state";
import { devModel, devSettings } from "../support/model";
import { type MockNetwork, runProgram, stackConfig } from "../support/program";

type Dc = { name: string; servers: number; subnet: string };
// The dev stack with these datacenters; clients and ports follow the position. They run no demo service, so the
// dev stack's intentions have none to name.
const plan = (...dcs: Dc[]) =>
    devModel({
        datacenters: dcs.map((dc, i) => ({ clients: 1, httpPort: 8500 + i, dnsPort: 8600 + i, ...dc })),
        intentions: [],
    });
const dc1 = (servers = 3): Dc => ({ name: "dc1", servers, subnet: "10.201.1.0/24" });
const dc2 = (servers = 1): Dc => ({ name: "dc2", servers, subnet: "10.201.2.0/24" });
const dc3 = (servers = 1): Dc => ({ name: "dc3", servers, subnet: "10.201.3.0/24" });
/** The WAN network's containers as Docker lists them when `p` was deployed and `stopped` have stopped since. */
const wanOf = (p: StackModel, stopped: string[] = []) =>
    p.datacenters
        .flatMap((dc) => dc.servers.map((s) => ({ name: s.name, ipv4Address: `${s.wanAddress}/24` })))
        .filter((c) => !stopped.includes(c.name));
/** A datacenter's LAN network as Docker reads it: its subnet, its federation's mark, its running agents at their addresses. */
const lanOf = (dc: StackModel["datacenters"][number], stopped: string[] = []): NetworkRead => ({
    ipamConfigs: [{ subnet: dc.subnet.text }],
    options: dc.federation === "peering" ? { "io.consul-multi-dc.federation": "peering" } : {},
    containers: [...dc.servers, ...dc.clients]
        .filter((a) => !stopped.includes(a.name))
        .map((a) => ({ name: a.name, ipv4Address: `${a.lanAddress}/24` })),
});
/** The Docker host's networks once `dcs` were deployed and `stopped` have stopped since. */
const running = (dcs: Dc[], stopped: string[] = []) => {
    const p = plan(...dcs);
    return {
        lans: Object.fromEntries(p.datacenters.map((dc) => [dc.name, lanOf(dc, stopped)])),
        wan: { ipamConfigs: [{ subnet: p.wan.subnet.text }], containers: wanOf(p, stopped) },
    };
};
/** What the program reads of `deployed` for a plan of `next`: the LAN networks its datacenters name, and the WAN network. */
const readFor = (deployed: ReturnType<typeof running>, next: StackModel) =>
    runningShape(Object.fromEntries(next.datacenters.map((dc) => [dc.name, deployed.lans[dc.name]])), deployed.wan);
const change = (deployed: ReturnType<typeof running> | undefined, next: Dc[]) => {
    const p = plan(...next);
    return shapeChangeProblems(deployed && readFor(deployed, p), p);
};
/** Asserts one problem per pattern, in any order; each starts with its config key. */
const refuses = (result: { problems: string[] }, ...expected: RegExp[]) => {
    assert.equal(result.problems.length, expected.length, result.problems.join("\n"));
    for (const e of expected) {
        assert.ok(
            result.problems.some((p) => e.test(p)),
            `no problem matches ${e}:\n${result.problems.join("\n")}`,
        );
    }
};
const allows = (result: { problems: string[] }) => assert.deepEqual(result.problems, []);

describe("what runs, from the Docker host's networks", () => {
    const lan = (subnet: string, containers: [string, number][]): NetworkRead => ({
        ipamConfigs: [{ subnet }],
        containers: containers.map(([name, host]) => ({
            name,
            ipv4Address: `${subnet.replace(/0\/24$/, String(host))}/24`,
        })),
    });
    test("a server is known by the LAN network that holds it and its address there, never by its name", () => {
        const shape = runningShape({
            "dc-east": lan("10.9.1.0/24", [
                ["anything", 12],
                ["t-dc-east-client1", 101],
                ["t-dc-east-web-1", 201],
                ["acl-init", 10],
            ]),
        });
        assert.deepEqual(shape, {
            datacenters: [
                {
                    name: "dc-east",
                    subnet: "10.9.1.0/24",
                    federation: "wan",
                    servers: [{ name: "anything", datacenter: "dc-east", ordinal: 2 }],
                },
            ],
            unknownServers: [],
        });
        assert.equal(
            runningShape({ dc1: lan("10.9.1.0/24", [["dc1-client1", 101]]), dc2: undefined }),
            undefined,
            "no server runs",
        );
    });
    test("servers by datacenter and ordinal, WAN addresses without their prefix length, the primary from the lowest, and WAN servers of no LAN read", () => {
        const wan = {
            ipamConfigs: [{ subnet: "10.201.0.0/24" }],
            containers: [
                { name: "dc2-server1", ipv4Address: "10.201.0.14/24" },
                { name: "dc1-server3", ipv4Address: "10.201.0.13/24" },
                { name: "dc1-server1", ipv4Address: "10.201.0.11/24" },
                { name: "someone-else", ipv4Address: "10.201.0.99/24" },
            ],
        };
        const dc1 = {
            ...lan("10.201.1.0/24", [
                ["dc1-server1", 11],
                ["dc1-server3", 13],
                ["dc1-client1", 101],
            ]),
            options: {},
        };
        assert.deepEqual(runningShape({ dc1 }, wan), {
            primary: { server: "dc1-server1", datacenter: "dc1" },
            datacenters: [
                {
                    name: "dc1",
                    subnet: "10.201.1.0/24",
                    federation: "wan",
                    servers: [
                        { name: "dc1-server1", datacenter: "dc1", ordinal: 1, wanAddress: "10.201.0.11" },
                        { name: "dc1-server3", datacenter: "dc1", ordinal: 3, wanAddress: "10.201.0.13" },
                    ],
                },
            ],
            unknownServers: [
                { name: "dc2-server1", wanAddress: "10.201.0.14" },
                { name: "someone-else", wanAddress: "10.201.0.99" },
            ],
        });
        assert.deepEqual(
            runningShape({}, { ...wan, containers: wan.containers.slice(0, 2) })?.primary,
            { server: "dc1-server3" },
            "a primary the config does not name",
        );
        assert.equal(runningShape({}, { ...wan, containers: [] }), undefined);
    });
});

describe("shrinkSteps", () => {
    test("each step keeps a quorum of the one before, and none reaches 1 from 2", () => {
        assert.deepEqual(shrinkSteps(5, 1), [3, 2]);
        assert.deepEqual(shrinkSteps(3, 1), [2]);
        assert.deepEqual(shrinkSteps(2, 1), []);
        assert.deepEqual(shrinkSteps(9, 2), [5, 3, 2]);
        assert.deepEqual(shrinkSteps(7, 3), [4, 3]);
        assert.deepEqual(shrinkSteps(3, 3), []);
    });
});

describe("shape changes a running cluster can take", () => {
    test("anything when nothing runs, and the same shape again", () => {
        assert.deepEqual(change(undefined, [dc2(), dc1(1)]), { problems: [], warnings: [] });
        assert.deepEqual(change(running([dc1(), dc2()]), [dc1(), dc2()]), { problems: [], warnings: [] });
    });
    test("growing a datacenter, even the primary with another after it (3 → 5)", () => {
        assert.deepEqual(change(running([dc1(), dc2()]), [dc1(5), dc2()]), { problems: [], warnings: [] });
        assert.deepEqual(change(running([dc1(), dc2()]), [dc1(), dc2(3)]), { problems: [], warnings: [] });
    });
    test("shrinking the last datacenter to a quorum of its voters (5 → 3, 3 → 2), with a reminder to wait", () => {
        for (const [from, to] of [
            [5, 3],
            [3, 2],
            [4, 3],
        ]) {
            const result = change(running([dc1(), dc2(from)]), [dc1(), dc2(to)]);
            allows(result);
            assert.equal(result.warnings.length, 1);
            assert.match(
                result.warnings[0],
                new RegExp(
                    `^datacenters\\[1\\]\\.servers: dc2 goes from ${from} to ${to} servers.*list-peers\` in dc2 shows ${to}`,
                ),
            );
        }
    });
    test("appending a datacenter, and removing the last one with a warning about its data and WAN members", () => {
        allows(change(running([dc1(), dc2()]), [dc1(), dc2(), dc3(3)]));
        const removal = change(running([dc1(), dc2(3)]), [dc1()]);
        allows(removal);
        assert.match(
            removal.warnings[0],
            /^datacenters: the servers dc2-server1, dc2-server2, dc2-server3 run on the WAN network, and no datacenter of the config has them: their datacenter is no longer in the config \(removed or renamed\), so this update deletes its agents and their data volumes/,
        );
        assert.match(removal.warnings[0], /consul force-leave -prune -wan <server>\.<datacenter>/);
    });
    test("removing servers that have left Raft and stopped: they neither vote nor hold a WAN address", () => {
        allows(change(running([dc1(), dc2(3)], ["dc2-server2", "dc2-server3"]), [dc1(), dc2(1)]));
        allows(change(running([dc1(), dc2()], ["dc1-server3"]), [dc1(2), dc2()]));
        allows(change(running([dc1(), dc2()], ["dc1-server2", "dc1-server3"]), [dc1(1), dc2()]));
    });
    test("a datacenter whose LAN network has no subnet Docker can tell holds no known server", () => {
        const deployed = running([dc1(), dc2()]);
        const shape = runningShape(
            { dc1: deployed.lans.dc1, dc2: { ...deployed.lans.dc2, ipamConfigs: [] } },
            deployed.wan,
        );
        assert.deepEqual(
            shape?.datacenters.map((dc) => dc.name),
            ["dc1"],
        );
        assert.deepEqual(shape?.unknownServers, [{ name: "dc2-server1", wanAddress: "10.201.0.14" }]);
    });
});

describe("shape changes refused, each naming its key and the safe way", () => {
    test("cutting the servers below the old quorum: 3 → 1 says 3 → 2, then leave Raft for 2 → 1", () => {
        const [problem] = change(running([dc1(), dc2(3)]), [dc1(), dc2(1)]).problems;
        assert.match(problem, /^datacenters\[1\]\.servers: dc2 has 3 servers, all Raft voters\./);
        assert.match(problem, /1 running of 3 voters is below the quorum of 2: dc2 would stop/);
        assert.match(
            problem,
            /Shrink in steps that keep a quorum, 3 → 2, with a `pulumi up` for each, waiting until `consul operator raft list-peers` in dc2 shows the smaller set/,
        );
        assert.match(
            problem,
            /To go from 2 to 1, make each server to remove leave Raft and stay stopped first \(`docker update --restart=no <server>`, then `consul leave` in it\)/,
        );
    });
    test("5 → 2 says 5 → 3 → 2 or leave Raft at once; 2 → 1 has no steps, only leaving Raft", () => {
        refuses(
            change(running([dc1(), dc2(5)]), [dc1(), dc2(2)]),
            /^datacenters\[1\]\.servers: .*2 running of 5 voters is below the quorum of 3.*5 → 3 → 2, with.*Or, to go to 2 at once, make each/,
        );
        const [two] = change(running([dc1(), dc2(2)]), [dc1(), dc2(1)]).problems;
        assert.match(
            two,
            /^datacenters\[1\]\.servers: dc2 has 2 servers.*quorum of 2: dc2 would stop\. To go from 2 to 1, make each server/,
        );
        assert.doesNotMatch(two, /Shrink in steps/);
    });
    test("a stopped server below the highest that runs still counts as a voter", () => {
        refuses(
            change(running([dc1(), dc2(3)], ["dc2-server2"]), [dc1(), dc2(2)]),
            /^datacenters\[1\]\.servers: dc2 has 3 servers, all Raft voters, 1 of them stopped\. .*1 running of 3 voters .*Start the stopped servers again first/,
        );
    });
    test("the primary 3 → 1 with dc2 after it: quorum, and dc2-server1's WAN address moving onto a removed server's", () => {
        refuses(
            change(running([dc1(), dc2()]), [dc1(1), dc2()]),
            /^datacenters\[0\]\.servers: dc1 has 3 servers, all Raft voters\..*3 → 2/,
            /^datacenters\[0\]\.servers: WAN addresses run on across datacenters in config order, .*dc2-server1 would move to 10\.201\.0\.12, which dc1-server2 holds until Pulumi deletes it, at the end of the update/,
        );
    });
    test("3 → 2 in a datacenter that others follow: the removed server holds the WAN address another moves to", () => {
        refuses(
            change(running([dc1(), dc2()]), [dc1(2), dc2()]),
            /^datacenters\[0\]\.servers: .*dc2-server1 would move to 10\.201\.0\.13, which dc1-server3 holds .*Docker refuses an address in use.*leave Raft and stay stopped first/,
        );
    });
    test("growing a datacenter by fewer servers than a later one has moves that one's servers onto each other's addresses", () => {
        refuses(
            change(running([dc1(), dc2(3)]), [dc1(4), dc2(3)]),
            /^datacenters\[0\]\.servers: .*dc2-server1 would move to 10\.201\.0\.15, which dc2-server2 holds until its own replacement.*Grow dc1 by at least 3 servers at once/,
        );
        allows(change(running([dc1(), dc2(3)]), [dc1(6), dc2(3)]));
    });
    test("a new datacenter put before running ones", () => {
        refuses(
            change(running([dc1(), dc2()]), [dc1(), dc3(), dc2()]),
            /^datacenters\[1\]: .*dc3-server1 would start on 10\.201\.0\.14, which dc2-server1 holds .*Add dc3 after the datacenters that run/,
        );
    });
    test("changing the primary datacenter, or renaming it", () => {
        const { problems } = change(running([dc1(), dc2()]), [dc2(), dc1()]);
        assert.match(
            problems[0],
            /^datacenters\[0\]\.name: the running federation's primary datacenter is dc1\. .*Keep dc1 first .*`pulumi destroy` with keepData off/,
        );
        const renamed = change(running([dc1(), dc2()]), [{ ...dc1(), name: "dc0" }, dc2()]).problems;
        assert.match(
            renamed[0],
            /^datacenters\[0\]\.name: the running federation's primary datacenter is the one of dc1-server1, which the config no longer has\. .*Keep it, under its name, first .*keeps its KV and ACLs first/,
        );
    });
    test("moving a running datacenter to another subnet", () => {
        refuses(
            change(running([dc1(), dc2()]), [dc1(), { ...dc2(), subnet: "10.201.9.0/24" }]),
            /^datacenters\[1\]\.subnet: dc2 runs on 10\.201\.2\.0\/24\. .*Raft knows each server by its address.*remove it in one `pulumi up` and add it back in the next/,
        );
        refuses(
            change(running([dc1(), dc2()]), [{ ...dc1(), subnet: "10.201.9.0/24" }, dc2()]),
            /^datacenters\[0\]\.subnet: .*dc1 is the primary, so `pulumi destroy` first/,
        );
    });
    test("renaming a datacenter in place: the new one needs the WAN addresses the old one keeps until the end", () => {
        const result = change(running([dc1(), dc2()]), [dc1(), { ...dc3(), subnet: "10.201.2.0/24" }]);
        refuses(
            result,
            /^datacenters: WAN addresses .*dc3-server1 would start on 10\.201\.0\.14, which dc2-server1 holds until Pulumi deletes it/,
        );
        assert.match(
            result.warnings[0],
            /^datacenters: the servers dc2-server1 run on the WAN network, and no datacenter of the config has them/,
        );
    });
});

describe("the program checks what runs on the Docker host", () => {
    // The dev stack running as deployed: dc1's three servers and dc2's one on the WAN network, and their LANs.
    const now = plan(dc1(), dc2());
    const lan = (dc: StackModel["datacenters"][number]): MockNetwork => ({
        subnet: dc.subnet.text,
        containers: [...lanOf(dc).containers],
    });
    const deployed: Record<string, MockNetwork> = {
        "consul-wan": { subnet: "10.201.0.0/24", containers: wanOf(now) },
        "dc1-lan": lan(now.datacenters[0]),
        "dc2-lan": lan(now.datacenters[1]),
    };
    const withServers = (servers: number) => {
        const config = stackConfig();
        const [first, ...rest] = config.datacenters as Record<string, unknown>[];
        return { ...config, datacenters: [{ ...first, servers }, ...rest] };
    };
    const serverNames = (run: Awaited<ReturnType<typeof runProgram>>) =>
        run.resources
            .filter((r) => r.type === "docker:index/container:Container" && /-server\d+$/.test(String(r.inputs.name)))
            .map((r) => r.inputs.name)
            .sort();

    test("refuses at preview to take dc1 from 3 servers to 1, naming datacenters[0].servers", async () => {
        await assert.rejects(
            runProgram({ config: withServers(1), computeState: fakeState, networks: deployed, preview: true }),
            (err: Error) => {
                assert.match(
                    err.message,
                    /^The running cluster cannot take this config in one `pulumi up`:\n {2}- datacenters\[0\]\.servers: dc1 has 3 servers, all Raft voters\./,
                );
                assert.match(err.message, /\n {2}- datacenters\[0\]\.servers: WAN addresses run on/);
                return true;
            },
        );
    });
    test("refuses at preview to rename dc2 in place: its servers, on no LAN of the config, hold the WAN address dc3 needs", async () => {
        const config = stackConfig();
        const [first, second] = config.datacenters as Record<string, unknown>[];
        await assert.rejects(
            runProgram({
                config: { ...config, datacenters: [first, { ...second, name: "dc3" }] },
                computeState: fakeState,
                networks: deployed,
                preview: true,
            }),
            /\n {2}- datacenters: WAN addresses run on .*dc3-server1 would start on 10\.201\.0\.14, which dc2-server1 holds until Pulumi deletes it/,
        );
    });
    test("takes dc1 from 3 servers to 5", async () => {
        const run = await runProgram({ config: withServers(5), computeState: fakeState, networks: deployed });
        assert.deepEqual(serverNames(run), [
            "dc1-server1",
            "dc1-server2",
            "dc1-server3",
            "dc1-server4",
            "dc1-server5",
            "dc2-server1",
        ]);
    });
});

describe("what runs across Docker hosts, from each datacenter's LAN network on its own host", () => {
    const on = (subnet: string, containers: [string, number][]): NetworkRead => ({
        ipamConfigs: [{ subnet }],
        containers: containers.map(([name, host]) => ({
            name,
            ipv4Address: `${subnet.replace(/0\/24$/, String(host))}/24`,
        })),
    });
    const lans = {
        dc1: on("10.202.1.0/24", [
            ["xh-dc1-server2", 12],
            ["xh-dc1-server1", 11],
            ["xh-dc1-client1", 101],
            ["xh-dc1-web-1", 201],
        ]),
        dc2: on("10.202.2.0/24", [["xh-dc2-client1", 101]]),
        dc3: undefined,
    };
    test("each datacenter's servers by ordinal, its subnet, and no primary: the LANs do not say which it is", () => {
        assert.deepEqual(runningShape(lans), {
            datacenters: [
                {
                    name: "dc1",
                    subnet: "10.202.1.0/24",
                    federation: "wan",
                    servers: [
                        { name: "xh-dc1-server1", datacenter: "dc1", ordinal: 1 },
                        { name: "xh-dc1-server2", datacenter: "dc1", ordinal: 2 },
                    ],
                },
            ],
            unknownServers: [],
        });
        assert.equal(runningShape({ dc3: undefined }), undefined);
    });
    test("a cut below quorum and a changed subnet are still refused; WAN addresses are the hosts' and never conflict", () => {
        const now: RunningShape = {
            datacenters: [
                {
                    name: "dc1",
                    subnet: "10.201.1.0/24",
                    servers: [1, 2, 3].map((n) => ({ name: `dc1-server${n}`, datacenter: "dc1", ordinal: n })),
                },
            ],
            unknownServers: [],
        };
        const settings = devSettings();
        const across = (servers: number, subnet: string) =>
            compileStack({
                ...settings,
                datacenters: [
                    { ...settings.datacenters[0], servers, subnet, hostAddress: "192.168.77.1" },
                    { ...settings.datacenters[1], dockerHost: "ssh://ops@b", hostAddress: "192.168.77.2" },
                ],
            });
        allows(shapeChangeProblems(now, across(5, "10.201.1.0/24")));
        refuses(
            shapeChangeProblems(now, across(1, "10.201.1.0/24")),
            /^datacenters\[0\]\.servers: dc1 has 3 servers, all Raft voters/,
        );
        refuses(
            shapeChangeProblems(now, across(3, "10.201.9.0/24")),
            /^datacenters\[0\]\.subnet: dc1 runs on 10\.201\.1\.0\/24/,
        );
    });
});
