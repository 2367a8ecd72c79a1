// The real index.ts under Pulumi mocks: the resource graph, the config it reads, its secrets and outputs.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { agentConfig } from "../../components/agent-config";
import { goDuration } from "../../components/healthcheck";
import { nodeId } from "../../components/node-id";
import { datacenterModel } from "../../components/topology";
import { fakeCertPem, fakeGossipKey, fakePrivateKeyPem, fakeSecretUuid, fakeState } from "../support/fake-state";
import { DeclaredResource, projectRoot, ProgramRun, runProgram, stackConfig, unwrapSecret, valueOf } from "../support/program";

const T = {
    component: "consul-multi-dc:index:ConsulDatacenter",
    aclBootstrap: "consul-multi-dc:index:AclBootstrap",
    uuid: "random:index/randomUuid:RandomUuid",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    csr: "tls:index/certRequest:CertRequest",
    signed: "tls:index/locallySignedCert:LocallySignedCert",
    container: "docker:index/container:Container",
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    image: "docker:index/remoteImage:RemoteImage",
    password: "random:index/randomPassword:RandomPassword",
};

const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const named = (run: ProgramRun, type: string, name: string) => {
    const found = run.resources.find((r) => r.type === type && r.inputs.name === name);
    assert.ok(found, `no ${type} named ${name}`);
    return found;
};
type Upload = { file: string; content: unknown };
// Pulumi marks a whole input property secret when any part of it is, so `uploads` arrives wrapped.
const uploads = (c: DeclaredResource) => unwrapSecret(c.inputs.uploads).value as Upload[];
const upload = (c: DeclaredResource, file: string) => {
    const u = uploads(c).find((x) => path.posix.join("/consul/config", file) === x.file);
    assert.ok(u, `${c.inputs.name} has no upload ${file}`);
    return u;
};
const agents = (run: ProgramRun) => ofType(run, T.container).filter((c) => ["server", "client"].includes(labelsOf(c)["consul.role"]));
const instances = (run: ProgramRun) => ofType(run, T.container).filter((c) => labelsOf(c)["consul.role"] === "service");
/** For each container that waits on others at the engine level (dependsOn or data), the names of those. */
const containerWaits = (run: ProgramRun) => {
    const containers = ofType(run, T.container);
    return Object.fromEntries(
        containers
            .map((c) => [c.inputs.name, containers.filter((o) => c.dependencies.includes(o.urn)).map((o) => o.inputs.name)] as const)
            .filter(([, deps]) => deps.length > 0),
    );
};
const labelsOf = (r: DeclaredResource) =>
    Object.fromEntries((r.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

describe("default stack (Pulumi.dev.yaml)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({ computeState: fakeState });
    });

    test("declares one component per datacenter, with its network, image, volumes and containers", () => {
        assert.deepEqual(ofType(run, T.component).map((r) => r.name), ["dc1", "dc2"]);
        for (const [dc, agents, demo] of [["dc1", 4, 2], ["dc2", 2, 1]] as const) {
            const children = run.resources.filter((r) => r.urn.includes(`${T.component}$`) && r.name.startsWith(`${dc}-`));
            const count = (type: string) => children.filter((r) => r.type === type).length;
            assert.equal(count(T.network), 1, `${dc} LAN networks`);
            assert.equal(count(T.image), 2, `${dc} images: Consul and the demo services'`);
            assert.equal(count(T.volume), agents, `${dc} data volumes`);
            assert.equal(count(T.container), agents + demo, `${dc} containers: agents and demo instances`);
            assert.equal(count(T.privateKey), 2, `${dc} keys: server and HTTPS`);
            assert.equal(count(T.csr), 2, `${dc} certificate requests`);
            assert.equal(count(T.signed), 2, `${dc} certificates signed by the stack CA`);
        }
        assert.equal(ofType(run, T.container).length, 10, "6 agents, acl-init and 3 demo instances");
        assert.equal(ofType(run, T.network).length, 3, "two LANs and the WAN");
        assert.equal(ofType(run, T.password).filter((r) => r.name === "gossip-key").length, 1, "one gossip key for every agent");
        assert.equal(ofType(run, T.selfSigned).length, 1, "one CA");
        assert.equal(ofType(run, T.uuid).length, 6 + 3, "accessor IDs: agent tokens, replication, web service and app tokens");
        assert.equal(ofType(run, T.password).length, 1 + 6 + 3 + 1, "seeds: gossip key, the same tokens' secrets, the management token");
    });

    test("every resource below the stack is a child of its component, named from it", () => {
        // The stack's own objects: the WAN, the gossip key, the CA and every ACL token.
        const topLevel = (name: string) => ["wan", "gossip-key", "consul-ca-key", "consul-ca"].includes(name) || /-token(-accessor|-secret)?$/.test(name);
        for (const r of run.resources.filter((x) => x.custom)) {
            if (topLevel(r.name)) {
                assert.ok(!r.urn.includes("$"), `${r.name} is top-level: ${r.urn}`);
                continue;
            }
            const [component, type] = r.name.startsWith("acl-") ? ["acl", T.aclBootstrap] : [r.name.split("-")[0], T.component];
            assert.ok(r.urn.includes(`::consul-multi-dc::${type}$${r.type}::${component}-`), `${r.name}: ${r.urn}`);
        }
    });

    test("containers are named as in the demo, dc1-server1 … dc2-client1", () => {
        assert.deepEqual(
            agents(run).map((c) => c.inputs.name).sort(),
            ["dc1-client1", "dc1-server1", "dc1-server2", "dc1-server3", "dc2-client1", "dc2-server1"],
        );
    });

    test("LAN networks and the WAN network have the configured fixed subnets", () => {
        const subnet = (name: string) => (named(run, T.network, name).inputs.ipamConfigs as { subnet: string }[])[0].subnet;
        assert.equal(subnet("dc1-lan"), "10.201.1.0/24");
        assert.equal(subnet("dc2-lan"), "10.201.2.0/24");
        assert.equal(subnet("consul-wan"), "10.201.0.0/24");
    });

    test("servers join their LAN and the WAN network; clients only their LAN", () => {
        const networks = (name: string) =>
            (named(run, T.container, name).inputs.networksAdvanced as { name: string; ipv4Address: string }[]).map(
                (n) => `${n.name}=${n.ipv4Address}`,
            );
        assert.deepEqual(networks("dc1-server1"), ["dc1-lan=10.201.1.11", "consul-wan=10.201.0.11"]);
        assert.deepEqual(networks("dc1-server3"), ["dc1-lan=10.201.1.13", "consul-wan=10.201.0.13"]);
        assert.deepEqual(networks("dc2-server1"), ["dc2-lan=10.201.2.11", "consul-wan=10.201.0.14"]);
        assert.deepEqual(networks("dc1-client1"), ["dc1-lan=10.201.1.101"]);
        assert.deepEqual(networks("dc2-client1"), ["dc2-lan=10.201.2.101"]);
    });

    test("the HTTPS UI/API and DNS are published from each DC's client, on 127.0.0.1 only", () => {
        const ports = (name: string) => named(run, T.container, name).inputs.ports ?? [];
        assert.deepEqual(ports("dc1-client1"), [
            { internal: 8501, external: 8500, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 8600, external: 8600, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 8600, external: 8600, ip: "127.0.0.1", protocol: "udp" },
        ]);
        assert.deepEqual(
            (ports("dc2-client1") as { external: number }[]).map((p) => p.external),
            [8501, 8601, 8601],
        );
        for (const server of ["dc1-server1", "dc1-server2", "dc1-server3", "dc2-server1"]) {
            assert.deepEqual(ports(server), [], `${server} publishes nothing`);
        }
    });

    test("each container uploads the commented base files and its own generated config", () => {
        const base = (file: string) => fs.readFileSync(path.join(projectRoot, "consul-config", file), "utf8");
        const server = named(run, T.container, "dc2-server1");
        const client = named(run, T.container, "dc1-client1");
        assert.deepEqual(uploads(server).map((u) => u.file), [
            "/consul/config/common.hcl",
            "/consul/config/server.hcl",
            "/consul/config/agent.json",
            "/consul/config/gossip.json",
            "/consul/config/acl-tokens.json",
            "/consul/tls/ca.pem",
            "/consul/tls/server.pem",
            "/consul/tls/server-key.pem",
            "/consul/bin/agent-ready.sh",
        ]);
        assert.deepEqual(uploads(client).slice(5, 8).map((u) => u.file), ["/consul/tls/ca.pem", "/consul/tls/client.pem", "/consul/tls/client-key.pem"]);
        assert.equal(upload(client, "../tls/ca.pem").content, fakeCertPem("consul-ca"));
        assert.equal(upload(server, "../tls/server.pem").content, fakeCertPem("dc2-server-cert"));
        assert.equal(upload(server, "../tls/server-key.pem").content, fakePrivateKeyPem("dc2-server-cert-key"));
        assert.equal(upload(client, "../tls/client-key.pem").content, fakePrivateKeyPem("dc1-client-cert-key"));
        assert.equal(upload(server, "common.hcl").content, base("common.hcl"));
        assert.equal(upload(server, "server.hcl").content, base("server.hcl"));
        assert.equal(upload(client, "client.hcl").content, base("client.hcl"));

        const dc2 = datacenterModel({
            name: "dc2", primaryDatacenter: "dc1", servers: 1, clients: 1, subnet: "10.201.2.0/24",
            wanAddresses: ["10.201.0.14"],
        });
        const generated = JSON.parse(upload(server, "agent.json").content as string);
        assert.deepEqual(generated, agentConfig(dc2, dc2.servers[0], ["10.201.0.11", "10.201.0.12", "10.201.0.13"]));
        assert.deepEqual(generated.retry_join_wan, ["10.201.0.11", "10.201.0.12", "10.201.0.13"]);
        assert.equal(JSON.parse(upload(named(run, T.container, "dc1-server1"), "agent.json").content as string).retry_join_wan, undefined);
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
        assert.match(client, /defaults\s*\{\s*cert_file\s*=\s*"\/consul\/tls\/client\.pem"\s*key_file\s*=\s*"\/consul\/tls\/client-key\.pem"/);
        const cert = ofType(run, T.csr).find((r) => r.name === "dc1-client-cert-csr");
        assert.equal((cert?.inputs.subject as { commonName: string }).commonName, "client.dc1.consul");
    });

    test("the gossip key is uploaded to every agent as a secret, and only in gossip.json", () => {
        for (const c of agents(run)) {
            assert.ok(unwrapSecret(c.inputs.uploads).secret, `${c.inputs.name}: uploads must be secret`);
            assert.deepEqual(JSON.parse(upload(c, "gossip.json").content as string), { encrypt: fakeGossipKey });
            for (const u of uploads(c).filter((x) => !x.file.endsWith("gossip.json"))) {
                assert.ok(!JSON.stringify(u.content).includes(fakeGossipKey), `${u.file} must not hold the key`);
            }
        }
        for (const seed of ofType(run, T.password)) {
            assert.deepEqual([seed.inputs.length, seed.inputs.special], [64, false], `${seed.name}: 64 letters and digits`);
        }
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
                [fs.readFileSync(path.join(projectRoot, "components", "agent-start.sh"), "utf8")],
                "the start script is the command",
            );
            assert.equal(c.inputs.hostname, name);
            const hc = c.inputs.healthcheck as { tests: string[] };
            assert.deepEqual(hc.tests, ["CMD-SHELL", "wget -q -O - http://127.0.0.1:8500/v1/status/leader | grep -q ':8300'"]);
            assert.equal(c.inputs.image, `sha256:${name.split("-")[0]}-image`, "image is the RemoteImage's ID");
            assert.deepEqual(c.inputs.volumes, [{ volumeName: `${name}-data`, containerPath: "/consul/data" }]);
            assert.equal(c.inputs.wait, true);
        }
    });

    test("in a new stack no container waits on another at the engine level; each agent that needs acl-init's tokens waits inside", () => {
        // Every container is created at once; the ready script a first start sources holds the real order.
        assert.deepEqual(containerWaits(run), {});
        const ready = (name: string) => uploads(named(run, T.container, name)).find((u) => u.file === "/consul/bin/agent-ready.sh")?.content as string | undefined;
        assert.equal(ready("dc1-server1"), undefined, "the primary's servers wait for nothing");
        assert.match(ready("dc2-server1") ?? "", /the replication token in dc1/);
        assert.match(ready("dc2-server1") ?? "", /for address in '10\.201\.0\.11' '10\.201\.0\.12' '10\.201\.0\.13'; do/);
        assert.match(ready("dc2-server1") ?? "", /-tls-server-name='server\.dc1\.consul'/);
        for (const [client, servers, dc] of [["dc1-client1", "'10\\.201\\.1\\.11' '10\\.201\\.1\\.12' '10\\.201\\.1\\.13'", "dc1"], ["dc2-client1", "'10\\.201\\.2\\.11'", "dc2"]]) {
            assert.match(ready(client) ?? "", new RegExp(`for address in ${servers}; do`), client);
            assert.match(ready(client) ?? "", /consul acl token read -self/, `${client} waits for its tokens`);
            assert.match(ready(client) ?? "", new RegExp(`-tls-server-name='server\\.${dc}\\.consul'`), client);
        }
    });

    test("when a datacenter's servers run, they are replaced one after another, and its clients after them", async () => {
        // dc1 and dc2 run on the Docker host (their servers on the WAN network); a new dc3 in the config starts all at once.
        const config = stackConfig();
        const dcs = [...(config.datacenters as Record<string, unknown>[]), { name: "dc3", servers: 3, clients: 1, subnet: "10.201.3.0/24", httpPort: 8502, dnsPort: 8602 }];
        const running = await runProgram({
            config: { ...config, datacenters: dcs },
            computeState: fakeState,
            networks: {
                "consul-wan": { subnet: "10.201.0.0/24", containers: ["dc1-server1", "dc1-server2", "dc1-server3", "dc2-server1"].map((name, i) => ({ name, ipv4Address: `10.201.0.${11 + i}/24` })) },
                "dc1-lan": { subnet: "10.201.1.0/24", containers: [["dc1-server1", 11], ["dc1-server2", 12], ["dc1-server3", 13], ["dc1-client1", 101]].map(([name, host]) => ({ name: String(name), ipv4Address: `10.201.1.${host}/24` })) },
                "dc2-lan": { subnet: "10.201.2.0/24", containers: [["dc2-server1", 11], ["dc2-client1", 101]].map(([name, host]) => ({ name: String(name), ipv4Address: `10.201.2.${host}/24` })) },
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
            return m[4] !== undefined ? Number(m[4]) / 1000 : Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
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

    test("each demo instance is a container of the demo image on its fixed LAN address, serving its page and health path", () => {
        const byName = Object.fromEntries(instances(run).map((c) => [c.inputs.name as string, c]));
        assert.deepEqual(Object.keys(byName).sort(), ["dc1-web-1", "dc1-web-2", "dc2-web-1"]);
        const addresses = Object.fromEntries(Object.entries(byName).map(([n, c]) => [n, (c.inputs.networksAdvanced as { ipv4Address: string }[])[0].ipv4Address]));
        assert.deepEqual(addresses, { "dc1-web-1": "10.201.1.201", "dc1-web-2": "10.201.1.202", "dc2-web-1": "10.201.2.201" });
        const web = byName["dc1-web-2"];
        assert.equal(web.inputs.image, "sha256:dc1-demo-image");
        assert.deepEqual([web.inputs.entrypoints, web.inputs.command, web.inputs.user], [["/bin/busybox"], ["httpd", "-f", "-p", "8080", "-h", "/www"], "nobody"]);
        const files = Object.fromEntries((web.inputs.uploads as Upload[]).map((u) => [u.file, u.content]));
        assert.deepEqual(JSON.parse(files["/www/index.html"] as string), { service: "web", instance: "dc1-web-2", datacenter: "dc1" });
        assert.equal(files["/www/health"], "ok\n");
        assert.deepEqual((web.inputs.healthcheck as { tests: string[] }).tests, ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/health"]);
        assert.equal(web.inputs.wait, true);
        assert.deepEqual(web.inputs.ports ?? [], [], "instances publish nothing: clients find them through Consul");
    });

    test("each DC's client registers its instances from services.json, with the service's token, as a secret upload", () => {
        const client = named(run, T.container, "dc1-client1");
        const defs = JSON.parse(upload(client, "services.json").content as string).services as Record<string, any>[];
        assert.deepEqual(defs.map((d) => `${d.id} ${d.name} ${d.address}:${d.port} ${d.tags.join(",")}`), [
            "dc1-web-1 web 10.201.1.201:8080 demo,v1",
            "dc1-web-2 web 10.201.1.202:8080 demo,v1",
        ]);
        assert.deepEqual(defs[0].check, {
            id: "dc1-web-1-http", name: "HTTP /health on dc1-web-1", http: "http://10.201.1.201:8080/health", interval: "2s", timeout: "2s",
        });
        assert.ok(defs.every((d) => d.token === fakeSecretUuid("service-web-token-secret")), "registered with the web service token");
        assert.ok(unwrapSecret(client.inputs.uploads).secret, "the file holds a token, so the uploads are secret");
        const dc2 = JSON.parse(upload(named(run, T.container, "dc2-client1"), "services.json").content as string).services;
        assert.deepEqual(dc2.map((d: { id: string }) => d.id), ["dc2-web-1"]);
        for (const server of agents(run).filter((c) => labelsOf(c)["consul.role"] === "server")) {
            assert.ok(!uploads(server).some((u) => u.file.endsWith("services.json")), `${server.inputs.name} registers no service`);
        }
    });

    test("acl-init seeds KV from consul-config/kv/dev.json, grants DNS reads to the anonymous token, and creates the app and service tokens", () => {
        const script = upload(named(run, T.container, "consul-acl-init"), "../acl-init/init.sh").content as string;
        const seed = JSON.parse(fs.readFileSync(path.join(projectRoot, "consul-config", "kv", "dev.json"), "utf8")) as Record<string, string>;
        for (const [key, value] of Object.entries(seed)) {
            assert.ok(script.includes(`ensure seed '${key}' '${value}'`), `seeds ${key}`);
        }
        assert.match(script, /'-policy-name' 'anonymous-dns-read'/);
        assert.match(script, /'registers the web service' '-service-identity' 'web'/);
        assert.match(script, /'example-app \(examples\/app\.ts\)' '-policy-name' 'example-app'/);
        const policy = upload(named(run, T.container, "consul-acl-init"), "../acl-init/policy-example-app.hcl").content as string;
        assert.match(policy, /service "web" \{\n  policy = "read"\n\}/);
        assert.match(policy, /key_prefix "example-app\/" \{\n  policy = "read"\n\}/);
    });

    test("the images are kept on destroy, so a user's image is never deleted", () => {
        for (const image of ofType(run, T.image)) {
            assert.equal(image.inputs.keepLocally, true);
            assert.ok(["hashicorp/consul:1.22.7", "consul-multi-dc/demo-web:1.0"].includes(image.inputs.name as string), image.name);
        }
    });

    test("stack outputs give UI URLs, HTTP and DNS addresses and container names per DC", async () => {
        assert.deepEqual(await valueOf(run.outputs.uiUrls), {
            dc1: "https://127.0.0.1:8500/ui/dc1",
            dc2: "https://127.0.0.1:8501/ui/dc2",
        });
        assert.equal(await valueOf(run.outputs.caCertPem), fakeCertPem("consul-ca"));
        assert.deepEqual(await valueOf(run.outputs.httpAddrs), { dc1: "127.0.0.1:8500", dc2: "127.0.0.1:8501" });
        assert.deepEqual(await valueOf(run.outputs.dnsAddrs), { dc1: "127.0.0.1:8600", dc2: "127.0.0.1:8601" });
        assert.deepEqual(await valueOf(run.outputs.containers), {
            dc1: { servers: ["dc1-server1", "dc1-server2", "dc1-server3"], clients: ["dc1-client1"] },
            dc2: { servers: ["dc2-server1"], clients: ["dc2-client1"] },
        });
    });

    // Every secret the stack makes: the gossip key, the token secret IDs and the private keys.
    const secretValues = () => [
        fakeGossipKey,
        ...ofType(run, T.password).filter((r) => r.name !== "gossip-key").map((r) => fakeSecretUuid(r.name)),
        ...ofType(run, T.privateKey).map((r) => fakePrivateKeyPem(r.name)),
    ];

    test("gossipKey, aclBootstrapToken and appToken are secret outputs; no other output is secret or holds a secret", async () => {
        assert.equal(await pulumi.isSecret(run.outputs.gossipKey), true);
        assert.equal(await valueOf(run.outputs.gossipKey), fakeGossipKey);
        assert.equal(await pulumi.isSecret(run.outputs.aclBootstrapToken), true);
        assert.equal(await valueOf(run.outputs.aclBootstrapToken), fakeSecretUuid("acl-management-token"));
        assert.equal(await pulumi.isSecret(run.outputs.appToken), true);
        assert.equal(await valueOf(run.outputs.appToken), fakeSecretUuid("example-app-token-secret"));
        // gossip key, 6 agent tokens, the replication, web service, app and management tokens, 4 private keys and the CA's
        assert.equal(secretValues().length, 1 + 6 + 4 + 4 + 1);
        for (const [key, output] of Object.entries(run.outputs).filter(([k]) => !["gossipKey", "aclBootstrapToken", "appToken"].includes(k))) {
            assert.equal(await pulumi.isSecret(output), false, `${key} should not be secret`);
            const text = JSON.stringify(await valueOf(output));
            assert.ok(secretValues().every((v) => !text.includes(v)), `${key} holds a secret`);
        }
    });

    test("no secret comes from a random resource whose ID is its value: the engine stores IDs in plain text", () => {
        // The random provider's ID for RandomBytes is its base64, for RandomId its b64_url, and for
        // RandomString/RandomInteger the result itself; a key made from them would sit unencrypted in the state.
        const leaky = ["randomBytes:RandomBytes", "randomId:RandomId", "randomString:RandomString", "randomInteger:RandomInteger"];
        const secretUuids = ofType(run, T.uuid).filter((r) => !r.name.endsWith("-accessor"));
        assert.deepEqual(secretUuids.map((r) => r.name), [], "RandomUuid only for accessor IDs, which are not credentials");
        assert.deepEqual(run.resources.filter((r) => leaky.some((t) => r.type.endsWith(t))).map((r) => `${r.type} ${r.name}`), []);
    });

    test("every token and private key reaches containers only inside secret inputs", () => {
        for (const c of ofType(run, T.container)) {
            for (const [key, value] of Object.entries(c.inputs)) {
                const { secret, value: plain } = unwrapSecret(value);
                const text = JSON.stringify(plain);
                if (!secret) {
                    assert.ok(secretValues().every((v) => !text.includes(v)), `${c.inputs.name}.${key} holds a secret in plain text`);
                }
            }
        }
        for (const key of ofType(run, T.privateKey)) {
            const users = run.resources.filter((r) => JSON.stringify(r.inputs).includes(fakePrivateKeyPem(key.name)));
            for (const user of users) {
                const field = Object.values(user.inputs).find((v) => JSON.stringify(v).includes(fakePrivateKeyPem(key.name)));
                assert.ok(unwrapSecret(field).secret, `${user.name} receives ${key.name} as plain text`);
            }
        }
    });

    test("each agent gets its own token; only primary servers hold the management token, only secondary servers the replication token", () => {
        const tokens = (name: string) => JSON.parse(upload(named(run, T.container, name), "acl-tokens.json").content as string).acl.tokens;
        const management = fakeSecretUuid("acl-management-token");
        const replication = fakeSecretUuid("acl-replication-token-secret");
        assert.deepEqual(tokens("dc1-server2"), { agent: fakeSecretUuid("dc1-server2-token-secret"), initial_management: management });
        assert.deepEqual(tokens("dc1-client1"), { agent: fakeSecretUuid("dc1-client1-token-secret") });
        assert.deepEqual(tokens("dc2-server1"), { agent: fakeSecretUuid("dc2-server1-token-secret"), replication });
        assert.deepEqual(tokens("dc2-client1"), { agent: fakeSecretUuid("dc2-client1-token-secret") });
    });

    test("acl-init creates every agent token and the replication token in the primary DC, with the management token in a file", () => {
        const init = named(run, T.container, "consul-acl-init");
        assert.deepEqual(labelsOf(init), { "consul.datacenter": "dc1", "consul.role": "acl-init", "consul.stack": "dev" });
        assert.deepEqual(init.inputs.networksAdvanced, [{ name: "dc1-lan", ipv4Address: "10.201.1.10", aliases: ["consul-acl-init"] }]);
        assert.deepEqual(init.inputs.envs, ["CONSUL_CACERT=/consul/acl-init/ca.pem", "CONSUL_HTTP_TOKEN_FILE=/consul/acl-init/management.token"]);
        assert.ok(unwrapSecret(init.inputs.uploads).secret, "acl-init uploads are secret");
        assert.equal(upload(init, "../acl-init/management.token").content, fakeSecretUuid("acl-management-token"));
        const script = upload(init, "../acl-init/init.sh").content as string;
        for (const agent of ["dc1-server1", "dc1-server2", "dc1-server3", "dc1-client1", "dc2-server1", "dc2-client1"]) {
            const dc = agent.split("-")[0];
            assert.ok(script.includes(`'${fakeSecretUuid(`${dc}-${agent.split("-")[1]}-token-secret`)}'`), `${agent} token secret`);
            assert.ok(script.includes(`'-node-identity' '${agent}:${dc}'`), `${agent} node identity`);
        }
        assert.ok(
            script.includes(`'${fakeSecretUuid("acl-replication-token-secret")}' 'ACL replication for secondary datacenters' '-policy-name' 'acl-replication'`),
            "the replication token with its policy",
        );
        assert.ok(!script.includes(fakeSecretUuid("acl-management-token")), "the management token is not in the script");
        assert.equal(init.inputs.wait, true);
    });
});

describe("stack config changes the graph", () => {
    test("publishAddress 0.0.0.0 binds published ports on every interface; URLs still name loopback", async () => {
        const run = await runProgram({ computeState: fakeState, config: stackConfig({ publishAddress: "0.0.0.0" }) });
        const ports = named(run, T.container, "dc1-client1").inputs.ports as { ip: string }[];
        assert.deepEqual([...new Set(ports.map((p) => p.ip))], ["0.0.0.0"]);
        assert.equal(((await valueOf(run.outputs.uiUrls)) as Record<string, string>).dc1, "https://127.0.0.1:8500/ui/dc1");
    });

    test("a datacenter without clients publishes from its first server; namePrefix prefixes every name", async () => {
        const config = stackConfig({ namePrefix: "lab-" });
        // Without a client there is no local agent for services to belong to.
        Object.assign((config.datacenters as object[])[1], { clients: 0, services: [] });
        const run = await runProgram({ computeState: fakeState, config });
        assert.equal((named(run, T.container, "lab-dc2-server1").inputs.ports as unknown[]).length, 3);
        assert.ok(named(run, T.network, "lab-consul-wan"));
        assert.ok(named(run, T.network, "lab-dc1-lan"));
        assert.ok(named(run, T.volume, "lab-dc1-server1-data"));
        assert.deepEqual(
            JSON.parse(upload(named(run, T.container, "lab-dc1-client1"), "agent.json").content as string).node_name,
            "lab-dc1-client1",
        );
    });

    test("dnsAnonymousRead false revokes the DNS policy instead of granting it", async () => {
        const run = await runProgram({ computeState: fakeState, config: stackConfig({ dnsAnonymousRead: false }) });
        const init = named(run, T.container, "consul-acl-init");
        const script = upload(init, "../acl-init/init.sh").content as string;
        assert.ok(script.includes("ensure revoke 'anonymous-dns-read'"), script);
        assert.ok(!script.includes("00000000-0000-0000-0000-000000000002"));
        assert.ok(!uploads(init).some((u) => u.file.endsWith("policy-anonymous-dns-read.hcl")));
    });

    test("a user-supplied gossip key replaces the random one and stays secret", async () => {
        const key = Buffer.alloc(16, 3).toString("base64");
        const run = await runProgram({
            computeState: fakeState,
            config: stackConfig({ gossipKey: key }),
            secretKeys: ["gossipKey"],
        });
        assert.deepEqual(ofType(run, T.password).filter((r) => r.name === "gossip-key"), []);
        assert.equal(await pulumi.isSecret(run.outputs.gossipKey), true);
        const client = named(run, T.container, "dc2-client1");
        assert.ok(unwrapSecret(client.inputs.uploads).secret, "dc2-client1 uploads are secret");
        assert.equal(JSON.parse(upload(client, "gossip.json").content as string).encrypt, key);
    });
});

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

    test("zero servers", () => rejects(withDc(0, { servers: 0 }), /datacenters\[0\]\.servers must be a whole number from 1 to 89, not 0/));
    test("negative servers", () => rejects(withDc(1, { servers: -2 }), /datacenters\[1\]\.servers must be a whole number from 1 to 89, not -2/));
    test("duplicate datacenter names", () =>
        rejects(withDc(1, { name: "dc1" }), /datacenters\[1\]\.name "dc1" is already used by datacenters\[0\]/));
    test("datacenter name outside [a-z0-9_-]", () =>
        rejects(withDc(1, { name: "DC 2" }), /datacenters\[1\]\.name must use only lowercase letters, digits, "_" and "-", not "DC 2"/));
    test("overlapping subnets", () =>
        rejects(withDc(1, { subnet: "10.201.0.0/16" }), /datacenters\[1\]\.subnet \(10\.201\.0\.0\/16\) overlaps wanSubnet/, /datacenters\[1\]\.subnet .* overlaps datacenters\[0\]\.subnet/));
    test("duplicate host ports", () =>
        rejects(withDc(1, { dnsPort: 8500 }), /datacenters\[1\]\.dnsPort is 8500, which datacenters\[0\]\.httpPort already uses/));
    test("malformed image reference", () =>
        rejects({ image: "hashicorp/Consul::latest" }, /image must be a Docker image reference such as hashicorp\/consul:1\.22\.7/));
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
    test("a KV seed file that does not exist, or is not key/value strings", async () => {
        await rejects({ kvSeed: "consul-config/kv/missing.json" }, /kvSeed: consul-config\/kv\/missing\.json does not exist/);
        const bad = path.join(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "kv-")), "bad.json");
        fs.writeFileSync(bad, JSON.stringify({ "app/size": 10 }));
        await rejects({ kvSeed: bad }, /kvSeed: .*bad\.json:\n  - app\/size must be a string/);
    });

    test("every problem is reported at once", () =>
        rejects({ ...withDc(0, { servers: 0, httpPort: 70000 }), wanSubnet: "10.0.0.1/24" },
            /datacenters\[0\]\.servers/, /datacenters\[0\]\.httpPort must be a port number from 1 to 65535/, /wanSubnet must be a network address/));
});

describe("ConsulDatacenter used on its own", () => {
    test("refuses bad args with a ResourceError that names each argument", async () => {
        await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) });
        const { ConsulDatacenter } = await import("../../components/consul-datacenter");
        const args = {
            datacenter: "DC1", primaryDatacenter: "dc1", servers: 0, clients: 1, subnet: "10.9.0.0/24",
            image: "hashicorp/consul:1.22.7", gossipKey: "k", ca: { certPem: "c", privateKeyPem: "k" },
            wan: { network: "wan", serverAddresses: [], join: [] }, acl: { agentTokens: {} }, ports: { http: 1, dns: 2 }, baseConfig: {},
        };
        assert.throws(() => new ConsulDatacenter("bad", args), (err: Error) => {
            assert.ok(pulumi.ResourceError.isInstance(err), "a ResourceError");
            assert.match(err.message, /args\.datacenter must use only lowercase letters/);
            assert.match(err.message, /args\.servers must be a whole number from 1 to 89, not 0/);
            return true;
        });
        assert.throws(
            () => new ConsulDatacenter("short", { ...args, datacenter: "dc9", servers: 2, wan: { ...args.wan, serverAddresses: ["10.0.0.1"] } }),
            /args\.wan\.serverAddresses must hold one address per server \(2\)/,
        );
    });
});
