// The default stack's agent containers under mocks: the files each uploads, its node ID, RPC certificates,
// labels, healthcheck, start script, the order in which they start and are replaced, and their stop grace.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { nodeId } from "../../components/model/node-id";
import { agentConfig } from "../../components/render/agent-config";
import { goDuration } from "../../components/render/healthcheck";
import { meshAgentConfig } from "../../components/render/mesh";
import { agents, containerWaits, labelsOf, named, ofType, T, upload, uploads } from "../support/declared";
import { devStackRun, fakeCertPem, fakePrivateKeyPem, fakeState } from "../support/fake-state";
import { devModel } from "../support/model";
import { type ProgramRun, projectRoot, runProgram, stackConfig } from "../support/program";

describe("default stack (Pulumi.dev.yaml)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await devStackRun();
    });

    test("each container uploads the commented base files and its own generated config", () => {
        const base = (file: string) => fs.readFileSync(path.join(projectRoot, "consul-config", file), "utf8");
        const server = named(run, T.container, "dc2-server1");
        const client = named(run, T.container, "dc1-client1");
        assert.deepEqual(
            uploads(server).map((u) => u.file),
            [
                "/consul/config/common.hcl",
                "/consul/config/server.hcl",
                "/consul/config/agent.json",
                "/consul/config/mesh.hcl",
                "/consul/config/gossip.json",
                "/consul/config/acl-tokens.json",
                "/consul/tls/ca.pem",
                "/consul/tls/server.pem",
                "/consul/tls/server-key.pem",
                "/consul/bin/agent-ready.sh",
            ],
        );
        assert.deepEqual(
            uploads(client)
                .slice(6, 9)
                .map((u) => u.file),
            ["/consul/tls/ca.pem", "/consul/tls/client.pem", "/consul/tls/client-key.pem"],
        );
        assert.equal(upload(client, "../tls/ca.pem").content, fakeCertPem("consul-ca"));
        assert.equal(upload(server, "../tls/server.pem").content, fakeCertPem("consul-dc2-server-cert"));
        assert.equal(upload(server, "../tls/server-key.pem").content, fakePrivateKeyPem("consul-dc2-server-cert-key"));
        assert.equal(upload(client, "../tls/client-key.pem").content, fakePrivateKeyPem("consul-dc1-client-cert-key"));
        assert.equal(upload(server, "common.hcl").content, base("common.hcl"));
        assert.equal(upload(server, "server.hcl").content, base("server.hcl"));
        assert.equal(upload(client, "client.hcl").content, base("client.hcl"));
        // The dev stack runs the service mesh: every agent turns Connect on (mesh.test.ts).
        assert.equal(upload(server, "mesh.hcl").content, meshAgentConfig);
        assert.equal(upload(client, "mesh.hcl").content, meshAgentConfig);

        const dc2 = devModel().datacenters[1];
        const generated = JSON.parse(upload(server, "agent.json").content as string);
        assert.deepEqual(generated, agentConfig(dc2, dc2.servers[0]));
        assert.deepEqual(generated.retry_join_wan, ["10.201.0.11", "10.201.0.12", "10.201.0.13"]);
        assert.equal(
            JSON.parse(upload(named(run, T.container, "dc1-server1"), "agent.json").content as string).retry_join_wan,
            undefined,
        );
    });

    test("each agent gets the node ID its datacenter and name give it, for its start script to write into a new data dir", () => {
        for (const c of agents(run)) {
            const name = c.inputs.name as string;
            assert.deepEqual(c.inputs.envs, [`CONSUL_NODE_ID=${nodeId(labelsOf(c)["consul.datacenter"], name)}`], name);
        }
    });

    test("RPC trusts the stack's CA only: clients present its client certificate, and nobody uses auto_encrypt", () => {
        for (const c of agents(run)) {
            for (const u of uploads(c).filter((x) => x.file.startsWith("/consul/config/"))) {
                assert.doesNotMatch(String(u.content), /^\s*"?auto_encrypt"?\s*[{:]/m, `${c.inputs.name} ${u.file}`);
            }
        }
        const client = String(upload(named(run, T.container, "dc1-client1"), "client.hcl").content);
        assert.match(
            client,
            /defaults\s*\{\s*cert_file\s*=\s*"\/consul\/tls\/client\.pem"\s*key_file\s*=\s*"\/consul\/tls\/client-key\.pem"/,
        );
        const cert = ofType(run, T.csr).find((r) => r.name === "consul-dc1-client-cert-csr");
        assert.ok(cert, "the client certificate's request");
        assert.equal((cert.inputs.subject as { commonName: string }).commonName, "client.dc1.consul");
    });

    test("containers carry labels, a healthcheck, a restart policy, an explicit entrypoint and the consul user", () => {
        for (const c of agents(run)) {
            const name = c.inputs.name as string;
            assert.deepEqual(labelsOf(c), {
                "consul.datacenter": name.split("-")[0],
                "consul.role": name.includes("server") ? "server" : "client",
                "consul.stack": "dev",
            });
            assert.equal(c.inputs.restart, "unless-stopped");
            assert.equal(c.inputs.user, "consul");
            assert.deepEqual(c.inputs.entrypoints, ["/bin/sh", "-c"]);
            assert.deepEqual(
                c.inputs.command,
                [fs.readFileSync(path.join(projectRoot, "components", "render", "agent-start.sh"), "utf8")],
                "the start script is the command",
            );
            assert.equal(c.inputs.hostname, name);
            const hc = c.inputs.healthcheck as { tests: string[] };
            assert.deepEqual(hc.tests, [
                "CMD-SHELL",
                "wget -q -O - http://127.0.0.1:8500/v1/status/leader | grep -q ':8300'",
            ]);
            assert.equal(c.inputs.image, `sha256:consul-${name.split("-")[0]}-image`, "image is the RemoteImage's ID");
            assert.deepEqual(c.inputs.volumes, [{ volumeName: `${name}-data`, containerPath: "/consul/data" }]);
            assert.equal(c.inputs.wait, undefined, "no container waits inside its own create");
        }
    });

    test("in a new stack no container waits on another at the engine level; each agent that needs acl-init's tokens waits inside", () => {
        // Every container is created at once; the ready script a first start sources holds the real order.
        assert.deepEqual(containerWaits(run), {});
        const ready = (name: string) =>
            uploads(named(run, T.container, name)).find((u) => u.file === "/consul/bin/agent-ready.sh")?.content as
                | string
                | undefined;
        assert.equal(ready("dc1-server1"), undefined, "the primary's servers wait for nothing");
        assert.match(ready("dc2-server1") ?? "", /the replication token in dc1/);
        assert.match(
            ready("dc2-server1") ?? "",
            /for address in '10\.201\.0\.11' '10\.201\.0\.12' '10\.201\.0\.13'; do/,
        );
        assert.match(ready("dc2-server1") ?? "", /-tls-server-name='server\.dc1\.consul'/);
        for (const [client, servers, dc] of [
            ["dc1-client1", "'10\\.201\\.1\\.11' '10\\.201\\.1\\.12' '10\\.201\\.1\\.13'", "dc1"],
            ["dc2-client1", "'10\\.201\\.2\\.11'", "dc2"],
        ]) {
            assert.match(ready(client) ?? "", new RegExp(`for address in ${servers}; do`), client);
            assert.match(ready(client) ?? "", /consul acl token read -self/, `${client} waits for its tokens`);
            assert.match(ready(client) ?? "", new RegExp(`-tls-server-name='server\\.${dc}\\.consul'`), client);
        }
    });

    test("when a datacenter's servers run, they are replaced one after another, and its clients after them", async () => {
        // dc1 and dc2 run on the Docker host (their servers on the WAN network); a new dc3 in the config starts all at once.
        const config = stackConfig();
        const dcs = [
            ...(config.datacenters as Record<string, unknown>[]),
            { name: "dc3", servers: 3, clients: 1, subnet: "10.201.3.0/24", httpPort: 8502, dnsPort: 8602 },
        ];
        const running = await runProgram({
            config: { ...config, datacenters: dcs },
            computeState: fakeState,
            networks: {
                "consul-wan": {
                    subnet: "10.201.0.0/24",
                    containers: ["dc1-server1", "dc1-server2", "dc1-server3", "dc2-server1"].map((name, i) => ({
                        name,
                        ipv4Address: `10.201.0.${11 + i}/24`,
                    })),
                },
                "dc1-lan": {
                    subnet: "10.201.1.0/24",
                    containers: [
                        ["dc1-server1", 11],
                        ["dc1-server2", 12],
                        ["dc1-server3", 13],
                        ["dc1-client1", 101],
                    ].map(([name, host]) => ({ name: String(name), ipv4Address: `10.201.1.${host}/24` })),
                },
                "dc2-lan": {
                    subnet: "10.201.2.0/24",
                    containers: [
                        ["dc2-server1", 11],
                        ["dc2-client1", 101],
                    ].map(([name, host]) => ({ name: String(name), ipv4Address: `10.201.2.${host}/24` })),
                },
            },
        });
        assert.deepEqual(containerWaits(running), {
            "dc1-server2": ["dc1-server1"],
            "dc1-server3": ["dc1-server2"],
            "dc1-client1": ["dc1-server3"],
            "dc2-client1": ["dc2-server1"],
        });
    });

    test("every agent is stopped with a grace period, so the start script can hand over leadership or leave", () => {
        for (const c of agents(run)) {
            assert.equal(c.inputs.destroyGraceSeconds, 30, String(c.inputs.name));
        }
    });

    test("healthcheck durations are spelled as the Docker provider reads them back, so a second preview is empty", () => {
        // The provider stores what Go's Duration.String() prints ("1m0s"); "60s" would differ on every preview.
        const seconds = (d: string) => {
            const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)$|^(\d+(?:\.\d+)?)ms$/.exec(d);
            assert.ok(m, `${d} is not a Go duration`);
            return m[4] !== undefined
                ? Number(m[4]) / 1000
                : Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
        };
        for (const c of ofType(run, T.container)) {
            const hc = c.inputs.healthcheck as Record<string, string | undefined>;
            for (const field of ["interval", "timeout", "startPeriod", "startInterval"]) {
                const d = hc[field];
                if (d !== undefined) {
                    assert.equal(d, goDuration(seconds(d)), `${c.inputs.name} healthcheck.${field}`);
                }
            }
        }
    });
});
