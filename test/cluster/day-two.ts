// Day two: the cluster tier's fault tests. Each one disturbs the running stack the way a user's day
// would (a rolled config change, a lost leader, a killed process, a cut network, a restarted Docker
// daemon), prints what it measured, and checks that nothing written was lost.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { compileStack } from "../../components/model/compile";
import { startStrandedInstances } from "../../scripts/project-stack";
import { stackSettings } from "../../scripts/stack-access";
import { docker, dockerOk } from "../support/docker";
import { echo } from "../support/engine";
import { run, start } from "../support/process";
import { projectRoot, stackConfig } from "../support/program";
import { api, type ConsulCli } from "./consul-cli";
import { KvWriter, longestGapDuring, missingKeys, outageAround, type Target } from "./kv-writer";
import type { Cluster } from "./state";
import { allHealthy, eventually, healthyAgain, sleep, stackContainers } from "./wait";

export const seedPrefix = "day-two/before";
export const seedKeys = Array.from({ length: 1000 }, (_, i) => `${seedPrefix}/${String(i).padStart(4, "0")}`);
const dc1Servers = ["dc1-server1", "dc1-server2", "dc1-server3"];
const agentNames = [...dc1Servers, "dc1-client1", "dc2-server1", "dc2-client1"];

/** The image the rollout upgrades every agent to: the stack's image with one label more, built here. */
export const rolledImage = "consul-multi-dc/consul:rollout-test";

/** The dc1 server that leads, and the others, as Raft reports them. */
async function dc1Leader(consul: ConsulCli): Promise<{ leader: string; followers: string[] }> {
    return eventually("a dc1 leader", 30, async () => {
        for (const asked of dc1Servers) {
            const peers = await consul.raftPeers(asked).catch(() => []);
            const leader = peers.find((p) => p.state === "leader")?.node;
            if (leader) {
                return { leader, followers: dc1Servers.filter((s) => s !== leader) };
            }
        }
        return undefined;
    });
}

const threeVoters = (consul: ConsulCli) =>
    eventually("dc1 back to 3 voters with a leader", 60, async () => {
        const peers = await consul.raftPeers("dc1-client1");
        const voters = peers
            .filter((p) => p.voter)
            .map((p) => p.node)
            .sort();
        return voters.length === 3 && peers.some((p) => p.state === "leader") ? voters : undefined;
    });

/** Writes through a server's own HTTPS API, from the host to its LAN address. */
async function serverTarget(container: string): Promise<Target> {
    const ip = (
        await dockerOk(["inspect", "--format", '{{(index .NetworkSettings.Networks "dc1-lan").IPAddress}}', container])
    ).trim();
    return { addr: `${ip}:8501`, servername: "server.dc1.consul" };
}

/** The host PID of the consul process in a container. */
async function consulPid(container: string): Promise<number> {
    const rows = (await dockerOk(["top", container, "-o", "pid,comm"])).trim().split("\n").slice(1);
    const row = rows.map((r) => r.trim().split(/\s+/)).find(([, comm]) => comm === "consul");
    assert.ok(row, `no consul process in ${container}`);
    return Number(row[0]);
}

/**
 * Container lifecycle events (kill, die, destroy, create, start, health_status) while `during` runs, streamed: Docker keeps
 * only its last few hundred events, and every healthcheck run adds three. `engine`: docker's -H flag, for another engine.
 */
export async function containerEvents(
    during: () => Promise<void>,
    engine: readonly string[] = [],
): Promise<{ at: number; action: string; name: string }[]> {
    const events = ["kill", "die", "destroy", "create", "start", "health_status"].flatMap((e) => [
        "--filter",
        `event=${e}`,
    ]);
    const stream = start("docker", [
        ...engine,
        "events",
        "--filter",
        "type=container",
        ...events,
        "--format",
        "{{.TimeNano}}|{{.Action}}|{{.Actor.Attributes.name}}",
    ]);
    await sleep(500);
    try {
        await during();
        await sleep(500);
    } finally {
        stream.kill();
    }
    return (await stream.finished).stdout
        .trim()
        .split("\n")
        .filter((l) => l.includes("|"))
        .map((l) => {
            const [at, action, name] = l.split("|");
            return { at: Number(BigInt(at) / 1_000_000n), action, name };
        });
}

/** At most one of `servers` was down at any moment, and each was healthy again before the next stopped. */
export function assertOneAtATime(
    events: readonly { at: number; action: string; name: string }[],
    servers: readonly string[],
): void {
    let down = 0;
    let mostDown = 0;
    for (const e of events.filter((e) => servers.includes(e.name))) {
        if (e.action === "die") down++;
        if (e.action === "start") down--;
        mostDown = Math.max(mostDown, down);
    }
    assert.equal(mostDown, 1, `${servers.join(", ")} down at once`);
    for (let i = 1; i < servers.length; i++) {
        const stopped = events.find((e) => e.name === servers[i] && e.action === "kill");
        const previousBack = events.find((e) => e.name === servers[i - 1] && e.action === "health_status: healthy");
        assert.ok(
            stopped && previousBack && previousBack.at <= stopped.at,
            `${servers[i - 1]} was healthy again before ${servers[i]} stopped`,
        );
    }
}

/** A writer for the length of `fault`, plus a second on either side, and what it saw. */
async function writesThrough(target: Target, c: Cluster, prefix: string, fault: () => Promise<void>) {
    const writer = new KvWriter(target, c.ca, c.token, prefix);
    await sleep(1000);
    await fault();
    await sleep(1000);
    const report = await writer.stop();
    const lost = await missingKeys(c.httpAddrs.dc1, c.ca, c.token, prefix, report.acknowledged);
    return { ...report, lost };
}

export function dayTwoTests(cluster: () => Cluster): void {
    describe("day two: faults and changes, with nothing lost", () => {
        test("1,000 keys are written before the faults", async () => {
            const c = cluster();
            for (let i = 0; i < seedKeys.length; i += 50) {
                const ops = seedKeys
                    .slice(i, i + 50)
                    .map((Key) => ({ KV: { Verb: "set", Key, Value: Buffer.from(Key).toString("base64") } }));
                const res = await api(c.httpAddrs.dc1, "/v1/txn", {
                    ca: c.ca,
                    token: c.token,
                    method: "PUT",
                    body: JSON.stringify(ops),
                });
                assert.equal(res.status, 200, res.body);
            }
            assert.deepEqual(await missingKeys(c.httpAddrs.dc1, c.ca, c.token, seedPrefix, seedKeys), []);
        });

        test("rollout: a base-config change and a new image roll every agent, dc1's servers one at a time, while writes through dc1's client go on (gap ≤ 2 s while the servers roll)", async () => {
            const c = cluster();
            // An upgrade, as far as Docker can tell: another image ID under another tag.
            const image = (await c.stack.getConfig("image")).value;
            await dockerOk(
                ["build", "-q", "-t", rolledImage, "-"],
                120_000,
                Buffer.from(`FROM ${image}\nLABEL consul-multi-dc.rollout-test=true\n`),
            );
            // The user's own base config, one setting changed: every agent's config changes.
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-config-"));
            fs.cpSync(path.join(projectRoot, "consul-config"), dir, { recursive: true });
            fs.appendFileSync(
                path.join(dir, "common.hcl"),
                '\n# Changed by the cluster tier\'s rollout test: DNS answers for nodes may be cached for 5 s.\ndns_config {\n  node_ttl = "5s"\n}\n',
            );
            let upMs = 0;
            let result: Awaited<ReturnType<typeof writesThrough>> | undefined;
            const events = await containerEvents(async () => {
                result = await writesThrough({ addr: c.httpAddrs.dc1 }, c, "day-two/rollout", async () => {
                    await c.stack.setConfig("baseConfigDir", { value: dir });
                    await c.stack.setConfig("image", { value: rolledImage });
                    const began = Date.now();
                    const up = await c.stack.up({ onOutput: echo("  rollout |") });
                    upMs = Date.now() - began;
                    // Every agent, acl-init and each datacenter's image resource.
                    assert.equal(up.summary.resourceChanges?.replace, 9, "what the change replaces");
                });
            });
            const r = result as NonNullable<typeof result>;
            const t0 = events[0]?.at ?? 0;
            console.log(
                `rollout timeline (ms from the first event): ${events
                    .filter((e) => e.name.startsWith("dc1-"))
                    .map((e) => `${e.name} ${e.action.replace("health_status: ", "")} +${e.at - t0}`)
                    .join("; ")}`,
            );
            console.log(
                `rollout: the longest write gap ran from +${r.maxGapAt - t0} to +${r.maxGapAt + r.maxGapMs - t0} on that timeline`,
            );
            console.log(
                `rollout: pulumi up replaced 6 agents in ${upMs} ms; writes through dc1's published API: ${r.acknowledged.length} acknowledged, ` +
                    `${r.failures} failed, longest gap ${r.maxGapMs} ms (from +${r.maxGapFromMs} ms), ${r.lost.length} lost`,
            );
            // The writes go through dc1-client1, which is replaced too: the writer sees its replacement as an
            // outage, most of which is Docker's (removing the old container, then creating, wiring up and
            // starting the new one). What the stack answers for is bounded on its own: no gap while the
            // servers roll, the old client answering until it exits, the new one soon after Docker starts it.
            const at = (name: string, action: string, after = 0) => {
                const e = events.find((e) => e.name === name && e.action === action && e.at >= after);
                assert.ok(e, `no ${action} event for ${name} in the rollout`);
                return e.at;
            };
            const serversFrom = at(dc1Servers[0], "kill");
            const serversTo = at(dc1Servers[2], "health_status: healthy", at(dc1Servers[2], "start"));
            const serversGap = longestGapDuring(r.ackedAt, serversFrom, serversTo);
            const clientDie = at("dc1-client1", "die");
            const clientStart = at("dc1-client1", "start", clientDie);
            const outage = outageAround(r.ackedAt, clientDie);
            console.log(
                `rollout: while dc1's servers rolled (+${serversFrom - t0} to +${serversTo - t0}), longest write gap ${serversGap} ms; ` +
                    `dc1-client1's replacement: writes stopped ${clientDie - outage.from} ms before the old agent exited, Docker took ` +
                    `${clientStart - clientDie} ms from that exit to starting the new container, which answered ${outage.to - clientStart} ms later ` +
                    `(outage ${outage.to - outage.from} ms)`,
            );
            const rolledId = (await dockerOk(["image", "inspect", "--format", "{{.Id}}", rolledImage])).trim();
            for (const agent of agentNames) {
                assert.equal(
                    (await dockerOk(["inspect", "--format", "{{.Image}}", agent])).trim(),
                    rolledId,
                    `${agent} runs the new image`,
                );
            }
            assertOneAtATime(events, dc1Servers);
            assert.deepEqual(r.lost, [], "acknowledged writes that did not read back");
            assert.deepEqual(await missingKeys(c.httpAddrs.dc1, c.ca, c.token, seedPrefix, seedKeys), []);
            assert.deepEqual(await threeVoters(c.consul), dc1Servers);
            assert.ok(
                serversGap <= 2000,
                `longest gap between acknowledged writes while dc1's servers rolled: ${serversGap} ms`,
            );
            assert.ok(
                clientDie - outage.from <= 1000,
                `writes stopped ${clientDie - outage.from} ms before dc1-client1 exited`,
            );
            assert.ok(
                outage.to - clientStart <= 1500,
                `the new dc1-client1 answered writes ${outage.to - clientStart} ms after Docker started it`,
            );
        });

        test("bad input at preview: dc1 from 3 servers to 1 in one step is refused, naming the key and the safe way; nothing changes", async () => {
            const c = cluster();
            await c.stack.setConfig("datacenters[0].servers", { value: "1" }, true);
            try {
                const refused = await c.stack.preview({ onOutput: echo("  preview |") }).then(
                    () => undefined,
                    (e: Error) => e.message,
                );
                assert.ok(refused, "the preview must fail");
                assert.match(refused, /datacenters\[0\]\.servers: dc1 has 3 servers, all Raft voters/);
            } finally {
                await c.stack.setConfig("datacenters[0].servers", { value: "3" }, true);
            }
            const preview = await c.stack.preview();
            assert.deepEqual(
                Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n),
                [],
                "back to the deployed config",
            );
            assert.deepEqual(await threeVoters(c.consul), dc1Servers);
        });

        test("leader stop: `docker stop` of dc1's leader, writes through a surviving server resume within 2 s; restarted, it rejoins as a voter", async () => {
            const c = cluster();
            const { leader, followers } = await dc1Leader(c.consul);
            const r = await writesThrough(await serverTarget(followers[0]), c, "day-two/leader-stop", async () => {
                await dockerOk(["stop", leader]);
            });
            console.log(
                `leader stop (${leader}): ${r.acknowledged.length} writes acknowledged, ${r.failures} failed, longest gap ${r.maxGapMs} ms, ${r.lost.length} lost`,
            );
            await dockerOk(["start", leader]);
            await healthyAgain(leader);
            assert.deepEqual(await threeVoters(c.consul), dc1Servers);
            assert.deepEqual(r.lost, []);
            assert.ok(r.maxGapMs <= 2000, `longest gap between acknowledged writes: ${r.maxGapMs} ms`);
        });

        test("leader kill -9: writes resume once the followers elect a new leader, and the restart policy brings it back", async () => {
            const c = cluster();
            const { leader, followers } = await dc1Leader(c.consul);
            const restarts = Number(await dockerOk(["inspect", "--format", "{{.RestartCount}}", leader]));
            const r = await writesThrough(await serverTarget(followers[0]), c, "day-two/leader-kill", async () => {
                process.kill(await consulPid(leader), "SIGKILL");
                await sleep(2000);
            });
            console.log(
                `leader kill -9 (${leader}): ${r.acknowledged.length} writes acknowledged, ${r.failures} failed, longest gap ${r.maxGapMs} ms, ${r.lost.length} lost`,
            );
            await healthyAgain(leader);
            assert.ok(
                Number(await dockerOk(["inspect", "--format", "{{.RestartCount}}", leader])) > restarts,
                "restarted by its restart policy",
            );
            assert.deepEqual(await threeVoters(c.consul), dc1Servers);
            assert.deepEqual(r.lost, []);
            assert.ok(
                r.acknowledged.length > 0 && r.maxGapMs < 10_000,
                `writes resumed (longest gap ${r.maxGapMs} ms)`,
            );
        });

        test("client kill -9 from the host: the restart policy brings the client back healthy", async () => {
            const restarts = Number(await dockerOk(["inspect", "--format", "{{.RestartCount}}", "dc1-client1"]));
            const began = Date.now();
            process.kill(await consulPid("dc1-client1"), "SIGKILL");
            await eventually("dc1-client1 restarted", 30, async () =>
                Number(await dockerOk(["inspect", "--format", "{{.RestartCount}}", "dc1-client1"])) > restarts
                    ? true
                    : undefined,
            );
            await eventually("dc1-client1 answering", 60, async () => {
                const c = cluster();
                const res = await api(c.httpAddrs.dc1, "/v1/kv/day-two/client-kill", {
                    ca: c.ca,
                    token: c.token,
                    method: "PUT",
                    body: "back",
                    timeoutMs: 1000,
                });
                return res.status === 200 ? true : undefined;
            });
            console.log(`client kill -9: dc1-client1 served writes again ${Date.now() - began} ms after the kill`);
            await healthyAgain("dc1-client1");
        });

        test("WAN partition: dc2 keeps its local catalog and dc1 keeps working; reconnected, federation heals by itself", async () => {
            const c = cluster();
            const wan = "consul-wan";
            const address = (
                await dockerOk([
                    "inspect",
                    "--format",
                    `{{(index .NetworkSettings.Networks "${wan}").IPAddress}}`,
                    "dc2-server1",
                ])
            ).trim();
            const crossDc = () =>
                api(c.httpAddrs.dc2, "/v1/kv/day-two/before/0000?dc=dc1&raw", {
                    ca: c.ca,
                    token: c.token,
                    timeoutMs: 3000,
                })
                    .then((r) => r.status === 200 && r.body === "day-two/before/0000")
                    .catch(() => false);
            assert.ok(await crossDc(), "dc2 reads dc1's KV before the partition");
            await dockerOk(["network", "disconnect", wan, "dc2-server1"]);
            const cut = Date.now();
            try {
                await eventually("dc2 cut off from dc1", 30, async () => ((await crossDc()) ? undefined : true));
                const nodes = await api(c.httpAddrs.dc2, "/v1/catalog/nodes", { ca: c.ca, token: c.token });
                assert.equal(nodes.status, 200, nodes.body);
                assert.deepEqual((JSON.parse(nodes.body) as { Node: string }[]).map((n) => n.Node).sort(), [
                    "dc2-client1",
                    "dc2-server1",
                ]);
                const web = await api(c.httpAddrs.dc2, "/v1/health/service/web?passing", { ca: c.ca, token: c.token });
                assert.equal((JSON.parse(web.body) as unknown[]).length, 1, "dc2's web instance is still served");
                const local = await api(c.httpAddrs.dc2, "/v1/kv/day-two/partition-dc2", {
                    ca: c.ca,
                    token: c.token,
                    method: "PUT",
                    body: "x",
                });
                assert.equal(local.status, 200, `dc2 writes its own KV: ${local.body}`);
                const dc1 = await api(c.httpAddrs.dc1, "/v1/kv/day-two/partition-dc1", {
                    ca: c.ca,
                    token: c.token,
                    method: "PUT",
                    body: "x",
                });
                assert.equal(dc1.status, 200, `dc1 keeps working: ${dc1.body}`);
            } finally {
                await dockerOk(["network", "connect", "--ip", address, "--alias", "dc2-server1", wan, "dc2-server1"]);
            }
            const reconnected = Date.now();
            await eventually("federation healed", 90, async () => ((await crossDc()) ? true : undefined));
            // The wait is the check: it fails unless all 4 WAN servers are alive again.
            await eventually("4 WAN servers alive", 60, async () => {
                const alive = (await c.consul.members("dc1-server1", "-wan")).filter((m) => m.status === "alive");
                return alive.length === 4 ? true : undefined;
            });
            console.log(
                `WAN partition: cut for ${reconnected - cut} ms; federation healed ${Date.now() - reconnected} ms after reconnecting, with no hand step`,
            );
        });

        test("Docker daemon restart: every agent, sidecar and gateway is healthy again by itself, with its data; npm start's recovery starts the mesh instances Docker could not", async () => {
            const c = cluster();
            const names = await stackContainers(c.stack.name);
            const model = compileStack(stackSettings(stackConfig()));
            const meshInstances = model.datacenters.flatMap((dc) =>
                dc.instances.filter((i) => i.sidecar).map((i) => i.id),
            );
            assert.ok(meshInstances.length > 0, "control: the dev stack runs instances in the mesh");
            const began = Date.now();
            await restartDockerDaemon();
            const restartedMs = Date.now() - began;
            await allHealthy(
                names.filter((n) => !meshInstances.includes(n)),
                120,
            );
            // Docker starts containers in no order, and an instance started before its sidecar fails for good
            // (moby/moby#11777): the same step npm start runs starts it again.
            const stranded = startStrandedInstances(model, () => []);
            console.log(`Docker daemon restart: mesh instances Docker left stopped: ${stranded.join(", ") || "none"}`);
            await allHealthy(names, 120);
            await eventually("dc1 and dc2 serve writes", 60, async () => {
                for (const addr of Object.values(c.httpAddrs)) {
                    const res = await api(addr, "/v1/kv/day-two/after-restart", {
                        ca: c.ca,
                        token: c.token,
                        method: "PUT",
                        body: "x",
                        timeoutMs: 2000,
                    });
                    if (res.status !== 200) return undefined;
                }
                return true;
            });
            console.log(
                `Docker daemon restart: daemon back in ${restartedMs} ms; all ${names.length} containers healthy and both DCs writing ${Date.now() - began} ms after the restart began`,
            );
            assert.deepEqual(await missingKeys(c.httpAddrs.dc1, c.ca, c.token, seedPrefix, seedKeys), []);
            assert.deepEqual(await threeVoters(c.consul), dc1Servers);
        });
    });
}

/** systemd's restart where systemd runs Docker; otherwise a SIGTERM to dockerd and scripts/ensure-docker.sh, which started it. */
async function restartDockerDaemon(): Promise<void> {
    const must = async (cmd: string, args: string[]) => {
        const result = await run(cmd, args);
        echo("  docker restart |")(result.out);
        if (result.code !== 0) {
            throw new Error(`${cmd} ${args.join(" ")} exited ${result.code}`);
        }
    };
    if (fs.existsSync("/run/systemd/system")) {
        await must("systemctl", ["restart", "docker"]);
        return;
    }
    // This engine's dockerd only, by its pidfile: scripts/test-hosts.sh runs two more on this machine.
    const pid = Number(fs.readFileSync("/var/run/docker.pid", "utf8").trim());
    process.kill(pid, "SIGTERM");
    await eventually("dockerd stopped", 60, async () => ((await docker(["info"])).code !== 0 ? true : undefined));
    const alive = () => {
        try {
            process.kill(pid, 0);
            return true;
        } catch {
            return false;
        }
    };
    await eventually("its process gone", 60, async () => (alive() ? undefined : true));
    await must("bash", [path.join(projectRoot, "scripts", "ensure-docker.sh")]);
}
