// The service mesh (mesh: true in the dev stack): frontend calls web only through Envoy sidecars; the sidecars
// take only mutual TLS from the mesh; intentions say who may call; the mesh gateways carry calls to dc2, and
// the service-resolver fails over there when dc1's web instances stop; a gateway killed with SIGKILL comes back;
// no Envoy rejected a config update; and the mesh can be turned off and on again on the running stack.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { callMesh, mtlsGet } from "../../scripts/mesh-failover";
import { docker, dockerOk } from "../support/docker";
import { echo, engineEnv, tierStack } from "../support/engine";
import { run } from "../support/process";
import { projectRoot, stackConfig } from "../support/program";
import { api } from "./consul-cli";
import type { Cluster } from "./state";
import { artifacts, withUiPage } from "./ui";
import { eventually, sleep } from "./wait";

const dc1Web = { "dc1-web-1": "10.201.1.201", "dc1-web-2": "10.201.1.202" };
const frontendAddress = "10.201.1.203";
const demoImage = stackConfig().demoImage as string;

/** Every Envoy container of the dev stack: the instances' sidecars and the two mesh gateways. */
const envoys = [
    "dc1-web-1-sidecar",
    "dc1-web-2-sidecar",
    "dc1-frontend-1-sidecar",
    "dc2-web-1-sidecar",
    "dc1-mesh-gateway",
    "dc2-mesh-gateway",
];

/** An Envoy's admin stats, by name. */
async function envoyStats(container: string): Promise<Map<string, number>> {
    const text = await dockerOk(["exec", container, "wget", "-q", "-O", "-", "http://127.0.0.1:19000/stats"]);
    return new Map(
        text
            .split("\n")
            .map((l) => l.split(": "))
            .filter(([, v]) => v !== undefined && /^\d+$/.test(v))
            .map(([k, v]) => [k, Number(v)]),
    );
}

/** busybox wget from a throwaway container on dc1's LAN: its exit code and what it printed. */
async function fromDc1Lan(url: string, ...flags: string[]) {
    const r = await docker([
        "run",
        "--rm",
        "--network",
        "dc1-lan",
        "--entrypoint",
        "/bin/busybox",
        demoImage,
        "wget",
        "-q",
        "-O",
        "-",
        ...flags,
        url,
    ]);
    return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

/** A request to a sidecar's public port with a leaf certificate of the mesh: the status and body. */
const mtls = (address: string, leaf: { CertPEM: string; PrivateKeyPEM: string }, roots: string) =>
    mtlsGet({ host: address, port: 21000 }, { cert: leaf.CertPEM, key: leaf.PrivateKeyPEM, roots }, 5000);

/** Every Envoy took its config and rejected none (cds and lds update_rejected 0), checked at `when`. */
export function noRejectedUpdates(when: string): void {
    test(`no Envoy rejected a config update (cds and lds update_rejected 0), ${when}`, async () => {
        for (const envoy of envoys) {
            const stats = await envoyStats(envoy);
            for (const stat of ["cluster_manager.cds.update_rejected", "listener_manager.lds.update_rejected"]) {
                assert.equal(stats.get(stat), 0, `${envoy}: ${stat}`);
            }
            assert.ok((stats.get("cluster_manager.cds.update_success") ?? 0) > 0, `${envoy} took its config`);
        }
    });
}

export function meshTests(cluster: () => Cluster): void {
    describe("the service mesh", () => {
        let url: string;

        test("frontend → web in dc1 through the sidecars: HTTP 200, answered by a dc1 instance", async () => {
            url = (await cluster().stack.outputs()).meshDemoUrl.value as string;
            assert.equal(url, "http://127.0.0.1:8080/");
            // The tests before may have restarted dc1's client, whose checks start out critical.
            const seen = await eventually("both dc1 web instances answering through the mesh", 60, async () => {
                const answers = new Set<string>();
                for (let i = 0; i < 10; i++) {
                    const call = await callMesh(url);
                    if (call.datacenter !== "dc1") return undefined;
                    answers.add(call.instance as string);
                }
                return answers.size === 2 ? [...answers].sort() : undefined;
            });
            assert.deepEqual(seen, Object.keys(dc1Web));
            const res = await fetch(url);
            assert.equal(res.status, 200);
            assert.match(
                await res.text(),
                /^\{"caller":"dc1-frontend-1","upstream":"web","instance":"dc1-web-[12]","datacenter":"dc1"\}/,
            );
        });

        test("outside the mesh: a sidecar's public port fails the TLS handshake, and web's own port refuses", async () => {
            const tls = await fromDc1Lan("https://10.201.1.201:21000/", "--no-check-certificate");
            assert.notEqual(tls.code, 0, tls.out);
            assert.match(tls.out, /error getting response|Connection reset|handshake|ssl_client/i);
            const plain = await fromDc1Lan("http://10.201.1.201:21000/");
            assert.notEqual(plain.code, 0, plain.out);
            const own = await fromDc1Lan("http://10.201.1.201:8080/");
            assert.match(own.out, /Connection refused/, "web listens on its loopback only");
            // The sidecar serves web's health check path to the agent, and nothing else.
            const health = await fromDc1Lan("http://10.201.1.201:21500/health");
            assert.deepEqual([health.code, health.out.trim()], [0, "ok"]);
            const page = await fromDc1Lan("http://10.201.1.201:21500/");
            assert.match(page.out, /404/);
        });

        test("a mesh identity without an allowing intention is refused: web may not call frontend", async () => {
            const { httpAddrs, ca, token } = cluster();
            const get = async (path: string) => {
                const res = await api(httpAddrs.dc1, path, { ca, token });
                assert.equal(res.status, 200, `${path}: ${res.body}`);
                return JSON.parse(res.body);
            };
            const roots = ((await get("/v1/connect/ca/roots")).Roots as { RootCert: string }[])
                .map((r) => r.RootCert)
                .join("\n");
            const asWeb = await get("/v1/agent/connect/ca/leaf/web");
            const asFrontend = await get("/v1/agent/connect/ca/leaf/frontend");
            // Control: frontend's identity may call web (the stack's intention), so the request itself is sound.
            const allowed = await mtls(dc1Web["dc1-web-1"], asFrontend, roots);
            assert.equal(allowed.status, 200, allowed.body);
            assert.match(allowed.body, /"instance":"dc1-web-1"/);
            const refused = await mtls(frontendAddress, asWeb, roots);
            assert.equal(refused.status, 403, refused.body);
            assert.match(refused.body, /RBAC: access denied/);
        });

        test("the intention removed from the config: `pulumi up` refuses frontend's calls; put back, they work again", async () => {
            const c = cluster();
            const configured = await c.stack.getConfig("intentions");
            await c.stack.setConfig("intentions", { value: "[]" });
            try {
                const off = await c.stack.up({ onOutput: echo("  intentions off |") });
                assert.deepEqual(off.summary.resourceChanges?.delete, 1, "the service-intentions entry for web");
                // Envoy takes the new RBAC rules over xDS within moments of the entry's deletion.
                const refused = await eventually("frontend's calls refused", 10, async () => {
                    const res = await fetch(url);
                    return res.status === 502 ? res.text() : undefined;
                });
                assert.match(refused, /"error":"no answer through the mesh"/);
            } finally {
                await c.stack.setConfig("intentions", configured);
            }
            const on = await c.stack.up({ onOutput: echo("  intentions on |") });
            assert.equal(on.summary.resourceChanges?.create, 1);
            await eventually("frontend's calls answered by dc1 again", 10, async () =>
                (await callMesh(url)).datacenter === "dc1" ? true : undefined,
            );
        });

        test("npm run demo:failover -- --mesh: dc1's web stopped, frontend's calls go to dc2 through both gateways within 3 s", async () => {
            const gateways = async () =>
                Promise.all(
                    ["dc1-mesh-gateway", "dc2-mesh-gateway"].map(async (g) =>
                        [...(await envoyStats(g)).entries()]
                            .filter(([k]) => /^cluster\..*\.upstream_cx_total$/.test(k))
                            .reduce((n, [, v]) => n + v, 0),
                    ),
                );
            const before = await gateways();
            const result = await run(
                "npm",
                ["run", "--silent", "demo:failover", "--", "--mesh", "--stack", tierStack],
                {
                    cwd: projectRoot,
                    env: engineEnv(),
                    timeoutMs: 240_000,
                },
            );
            echo("  mesh demo |")(result.out);
            assert.equal(result.code, 0, result.out);
            const over = result.out.match(
                /failover: (\d+) of \d+ calls failed, over a window of (\d+) ms; then no failures, answered by dc2-web-1 ×20/,
            );
            assert.ok(over, "the demo prints the failover window, then 20 answers from dc2");
            console.log(`mesh failover window: ${over[2]} ms (${over[1]} failed calls)`);
            assert.ok(Number(over[2]) <= 3000, `failed calls for ${over[2]} ms; the target is at most 3 s`);
            assert.match(result.out, /failback: after \d+ ms dc1's instances answer again, with 0 failed calls/);
            const after = await gateways();
            assert.ok(
                after[0] > before[0] && after[1] > before[1],
                `both gateways carried the calls to dc2 (upstream connections ${before} → ${after})`,
            );
        });

        test("a mesh gateway killed with SIGKILL comes back, and calls to dc2 resume", async () => {
            const stopped = Object.keys(dc1Web);
            await dockerOk(["stop", "--time", "0", ...stopped]);
            try {
                await eventually("calls answered by dc2", 60, async () =>
                    (await callMesh(url)).datacenter === "dc2" ? true : undefined,
                );
                const pid = (await dockerOk(["inspect", "--format", "{{.State.Pid}}", "dc1-mesh-gateway"])).trim();
                const killedAt = Date.now();
                process.kill(Number(pid), "SIGKILL");
                // Every 50 ms until a call is answered by dc2 again: how many failed, and for how long.
                let failed = 0;
                const back = await eventually("calls answered by dc2 again after the kill", 120, async () => {
                    await sleep(50);
                    const call = await callMesh(url);
                    failed += call.datacenter ? 0 : 1;
                    return call.datacenter === "dc2" ? call.at : undefined;
                });
                console.log(
                    `gateway SIGKILL: ${failed} calls failed; calls to dc2 resumed ${back - killedAt} ms after the kill`,
                );
                const restarts = await dockerOk(["inspect", "--format", "{{.RestartCount}}", "dc1-mesh-gateway"]);
                assert.ok(Number(restarts) >= 1, "Docker restarted the gateway's container");
            } finally {
                await dockerOk(["start", ...stopped]);
            }
            await eventually("dc1 answering again", 60, async () =>
                (await callMesh(url)).datacenter === "dc1" ? true : undefined,
            );
        });

        test("the UI's topology of frontend shows web as its upstream in dc1 (Chromium)", async () => {
            const { uiUrls, token } = cluster();
            await withUiPage(uiUrls.dc1, token, async (page) => {
                await page.goto(`${uiUrls.dc1}/services/frontend/topology`);
                // The upstream's card: its name, where the upstream is defined, and its health.
                const upstream = page.locator("[class*=topology] *", { hasText: /^\s*web\s*$/ }).first();
                await upstream.waitFor({ timeout: 20_000 });
                const column = (await page.locator("[class*=topology]").allInnerTexts()).join("\n");
                assert.match(column, /dc1\s+web\s+Defined in proxy registration\s+100%/);
                await page.screenshot({ path: path.join(artifacts, "ui-dc1-topology.png") });
            });
        });

        noRejectedUpdates("after the mesh's tests");

        test("the mesh turned off and on again on the running stack: the instances keep their addresses; intentions left while Connect was off are removed", async () => {
            const c = cluster();
            const configured = {
                mesh: await c.stack.getConfig("mesh"),
                intentions: await c.stack.getConfig("intentions"),
            };
            // Each service's upstream, by its config path: removed and put back one by one, so that `datacenters`
            // stays the structured list the later tests edit by path.
            const dcs = JSON.parse((await c.stack.getConfig("datacenters")).value) as {
                services?: { upstream?: string }[];
            }[];
            const upstreams = dcs.flatMap((dc, i) =>
                (dc.services ?? []).flatMap((s, j) =>
                    s.upstream ? [{ key: `datacenters[${i}].services[${j}].upstream`, value: s.upstream }] : [],
                ),
            );
            const passingWeb = async () => {
                const res = await api(c.httpAddrs.dc1, "/v1/health/service/web?passing", { ca: c.ca, token: c.token });
                return res.status === 200
                    ? (JSON.parse(res.body) as { Service: { ID: string; Address: string } }[])
                          .map((e) => `${e.Service.ID} ${e.Service.Address}`)
                          .sort()
                    : [];
            };
            const intentionEntries = async () => {
                const res = await api(c.httpAddrs.dc1, "/v1/config/service-intentions", { ca: c.ca, token: c.token });
                assert.equal(res.status, 200, res.body);
                return (JSON.parse(res.body) as { Name: string }[]).map((e) => e.Name).sort();
            };
            try {
                await c.stack.setConfig("mesh", { value: "false" });
                await c.stack.setConfig("intentions", { value: "[]" });
                for (const u of upstreams) {
                    await c.stack.removeConfig(u.key, true);
                }
                await c.stack.up({ onOutput: echo("  mesh off |") });
                const running = (await dockerOk(["ps", "--format", "{{.Names}}"])).trim().split("\n");
                assert.deepEqual(
                    running.filter((n) => envoys.includes(n)),
                    [],
                    "no sidecar or gateway left",
                );
                const expected = Object.entries(dc1Web).map(([id, ip]) => `${id} ${ip}`);
                assert.deepEqual(
                    await eventually("dc1's web instances passing", 30, async () => {
                        const passing = await passingWeb();
                        return passing.length === 2 ? passing : undefined;
                    }),
                    expected,
                );
                // Outside the mesh each instance answers on its own address again.
                for (const ip of Object.values(dc1Web)) {
                    const direct = await fromDc1Lan(`http://${ip}:8080/`);
                    assert.equal(direct.code, 0, direct.out);
                }

                // On again with another intention: the one for web, which Consul kept while Connect was off,
                // must not come back with it.
                await c.stack.setConfig("mesh", { value: "true" });
                await c.stack.setConfig("intentions", {
                    value: JSON.stringify([{ source: "web", destination: "frontend" }]),
                });
                await c.stack.up({ onOutput: echo("  mesh on |") });
                assert.deepEqual(await intentionEntries(), ["frontend"]);
            } finally {
                await c.stack.setConfig("mesh", configured.mesh);
                await c.stack.setConfig("intentions", configured.intentions);
                for (const u of upstreams) {
                    await c.stack.setConfig(u.key, { value: u.value }, true);
                }
                await c.stack.up({ onOutput: echo("  mesh as configured |") });
            }
            assert.deepEqual(await intentionEntries(), ["web"]);
            await eventually("frontend's calls answered by dc1 again", 60, async () =>
                (await callMesh(url)).datacenter === "dc1" ? true : undefined,
            );
        });
    });
}
