// Datacenters on separate Docker hosts: the config keys and their checks, the layout of the servers'
// host ports, the per-agent config and scripts, and the resources under mocks (providers, published
// ports, no WAN network). One local host stays exactly as it was.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { compileStack } from "../../components/model/compile";
import type { DatacenterSettings, StackSettings } from "../../components/model/settings";
import { agentConfig } from "../../components/render/agent-config";
import { agentReadyScript } from "../../components/render/agent-ready";
import { agentStartScript } from "../../components/resources/agent-files";
import { acrossHostsDatacenters, fakeCertDir } from "../support/across-hosts";
import { named, ofType, T } from "../support/declared";
import { fakeState } from "../support/fake-state";
import { devModel, devSettings, problemsOf } from "../support/model";
import { type ProgramRun, runProgram, stackConfig, unwrapSecret } from "../support/program";

const certPath = "/certs";
const certFiles = { [certPath]: ["ca.pem", "cert.pem", "key.pem"] };
const across = (
    datacenters: DatacenterSettings[] = acrossHostsDatacenters(certPath),
    over: Partial<StackSettings> = {},
): StackSettings => ({ ...devSettings(), datacenters, dockerCertFiles: certFiles, ...over });
const withDc = (i: number, over: Record<string, unknown>) => {
    const dcs = acrossHostsDatacenters(certPath);
    dcs[i] = { ...dcs[i], ...over } as DatacenterSettings;
    return across(dcs);
};

describe("the Docker host keys are checked at preview, each problem naming its key", () => {
    test("dockerHost must be a unix://, tcp://HOST:PORT or ssh://USER@HOST[:PORT] endpoint", () => {
        for (const bad of [
            "http://192.168.77.2:2376",
            "tcp://192.168.77.2",
            "tcp://h:70000",
            "ssh://host",
            "unix://relative",
            42,
        ]) {
            assert.match(
                problemsOf(withDc(1, { dockerHost: bad })).join("\n"),
                /^datacenters\[1\]\.dockerHost must be a Docker endpoint: unix:\/\/\/PATH, tcp:\/\/HOST:PORT or ssh:\/\/USER@HOST\[:PORT\]/m,
                String(bad),
            );
        }
        for (const good of ["unix:///run/other.sock", "ssh://ops@lab.example:2222", "ssh://ops@10.0.0.5"]) {
            assert.doesNotThrow(() => compileStack(withDc(1, { dockerHost: good, dockerCertPath: undefined })), good);
        }
    });

    test("a tcp:// host without dockerCertPath is refused, saying why", () => {
        const [problem] = problemsOf(withDc(1, { dockerCertPath: undefined }));
        assert.match(
            problem,
            /^datacenters\[1\]\.dockerCertPath is required with a tcp:\/\/ dockerHost: a Docker socket on the network without TLS client certificates is root on that host/,
        );
    });

    test("dockerCertPath must hold ca.pem, cert.pem and key.pem, and is only for tcp://", () => {
        assert.deepEqual(problemsOf(across(undefined, { dockerCertFiles: { [certPath]: ["ca.pem"] } })), [
            "datacenters[1].dockerCertPath: /certs must hold ca.pem, cert.pem, key.pem; cert.pem, key.pem missing",
            "datacenters[2].dockerCertPath: /certs must hold ca.pem, cert.pem, key.pem; cert.pem, key.pem missing",
        ]);
        assert.match(
            problemsOf(withDc(1, { dockerHost: "ssh://ops@h" })).join("\n"),
            /datacenters\[1\]\.dockerCertPath is only for a tcp:\/\/ dockerHost, not "ssh:\/\/ops@h"/,
        );
    });

    test("dockerSshOpts is a list of strings, for ssh:// only", () => {
        assert.match(
            problemsOf(
                withDc(1, { dockerHost: "ssh://ops@h", dockerCertPath: undefined, dockerSshOpts: "-p 22" }),
            ).join("\n"),
            /^datacenters\[1\]\.dockerSshOpts must be a list of ssh options/m,
        );
        assert.match(
            problemsOf(withDc(1, { dockerSshOpts: ["-v"] })).join("\n"),
            /^datacenters\[1\]\.dockerSshOpts is only for an ssh:\/\/ dockerHost/m,
        );
    });

    test("across hosts every datacenter needs a reachable hostAddress, one per host", () => {
        assert.match(
            problemsOf(withDc(0, { hostAddress: undefined })).join("\n"),
            /^datacenters\[0\]\.hostAddress is required when the datacenters run on more than one Docker host/m,
        );
        assert.match(
            problemsOf(withDc(0, { hostAddress: "127.0.0.1" })).join("\n"),
            /^datacenters\[0\]\.hostAddress is 127\.0\.0\.1, a loopback address/m,
        );
        assert.match(
            problemsOf(withDc(1, { hostAddress: "not-an-ip" })).join("\n"),
            /^datacenters\[1\]\.hostAddress must be the IPv4 address/m,
        );
        assert.match(
            problemsOf(withDc(2, { hostAddress: "192.168.77.2" })).join("\n"),
            /^datacenters\[2\]\.hostAddress is 192\.168\.77\.2, which datacenters\[1\]\.hostAddress gives for another dockerHost/m,
        );
        assert.match(
            problemsOf(withDc(2, { dockerHost: "tcp://192.168.77.2:2376" })).join("\n"),
            /^datacenters\[2\]\.hostAddress is 192\.168\.77\.3, but datacenters\[1\]\.hostAddress on the same dockerHost says 192\.168\.77\.2/m,
        );
        const single = devSettings();
        const remoteOnly = {
            ...single,
            datacenters: single.datacenters.map((dc) => ({ ...dc, dockerHost: "ssh://ops@h" })),
        };
        assert.match(
            problemsOf(remoteOnly).join("\n"),
            /^datacenters\[0\]\.hostAddress is required with a ssh:\/\/ dockerHost/m,
        );
    });

    test("a port is published once per host: a server's port on a host's httpPort is refused, the same port on two hosts is not", () => {
        assert.doesNotThrow(
            () => compileStack(across()),
            "dc2 and dc3 both publish 8500 and 8600, each on its own host",
        );
        assert.match(
            problemsOf(withDc(0, { httpPort: 8312 })).join("\n"),
            /^datacenters\[0\]\.servers: dc1-server2 would publish port 8312, which datacenters\[0\]\.httpPort already uses on the same Docker host/m,
        );
        assert.match(
            problemsOf(withDc(2, { dockerHost: "tcp://192.168.77.2:2376", hostAddress: "192.168.77.2" })).join("\n"),
            /^datacenters\[2\]\.httpPort is 8500, which datacenters\[1\]\.httpPort already uses/m,
        );
    });
});

describe("the model across hosts", () => {
    const model = compileStack(across());
    const [dc1, dc2, dc3] = model.datacenters;

    test("servers are reached on their host's address at ports that run on per host; the primary's also publish HTTPS", () => {
        assert.equal(model.acrossHosts, true);
        assert.deepEqual(
            dc1.servers.map((s) => [s.wanAddress, s.hostPorts]),
            [
                ["192.168.77.1", { server: 8300, serfWan: 8302, api: 8303 }],
                ["192.168.77.1", { server: 8310, serfWan: 8312, api: 8313 }],
                ["192.168.77.1", { server: 8320, serfWan: 8322, api: 8323 }],
            ],
        );
        assert.deepEqual(
            dc2.servers.map((s) => [s.wanAddress, s.hostPorts]),
            [["192.168.77.2", { server: 8300, serfWan: 8302 }]],
        );
        assert.deepEqual(dc3.wanJoin, ["192.168.77.1:8302", "192.168.77.1:8312", "192.168.77.1:8322"]);
        assert.deepEqual(
            dc3.primaryApis,
            [8303, 8313, 8323].map((port) => ({ address: "192.168.77.1", port })),
        );
    });

    test("the local engine publishes on publishAddress, another host on its hostAddress", () => {
        assert.deepEqual(
            model.datacenters.map((dc) => dc.publishAddress),
            ["127.0.0.1", "192.168.77.2", "192.168.77.3"],
        );
        assert.deepEqual(
            model.datacenters.map((dc) => dc.host.endpoint),
            [undefined, "tcp://192.168.77.2:2376", "tcp://192.168.77.3:2376"],
        );
    });

    test("a server binds the ports it publishes and joins the primary's servers at theirs", () => {
        const config = agentConfig(dc2, dc2.servers[0]);
        assert.equal(config.advertise_addr_wan, "192.168.77.2");
        assert.deepEqual(config.ports, { server: 8300, serf_wan: 8302 });
        assert.deepEqual(config.retry_join_wan, ["192.168.77.1:8302", "192.168.77.1:8312", "192.168.77.1:8322"]);
        assert.deepEqual(agentConfig(dc1, dc1.servers[1]).ports, { server: 8310, serf_wan: 8312 });
        assert.equal(agentConfig(dc2, dc2.clients[0]).ports, undefined, "clients stay on the LAN");
    });

    test("a new secondary server checks its replication token at the primary servers' published HTTPS ports", () => {
        const script = agentReadyScript(dc3, dc3.servers[0]) as string;
        assert.match(script, /for address in '192\.168\.77\.1:8303' '192\.168\.77\.1:8313' '192\.168\.77\.1:8323'; do/);
        assert.match(script, /-http-addr="https:\/\/\$\{address\}" \$tls -tls-server-name='server\.dc1\.consul'/);
    });

    test("a leading server hands over leadership: its start script's leader check names the RPC port it binds", () => {
        assert.match(agentStartScript(dc1.servers[1]), /= "\\"\$self:8310\\"" \]/);
        assert.ok(!agentStartScript(dc1.servers[1]).includes("$self:8300"));
        assert.equal(
            agentStartScript(dc1.servers[0]),
            agentStartScript(dc1.clients[0]),
            "8300 keeps the script as it is",
        );
    });
});

test("on one local host nothing changes: WAN network addresses, Consul's ports, the script as it was", () => {
    const model = devModel();
    assert.equal(model.acrossHosts, false);
    const [dc1, dc2] = model.datacenters;
    assert.deepEqual(dc2.wanJoin, ["10.201.0.11", "10.201.0.12", "10.201.0.13"]);
    assert.ok(dc1.servers.every((s) => s.hostPorts === undefined));
    assert.equal(agentConfig(dc1, dc1.servers[0]).ports, undefined);
    assert.deepEqual(
        model.datacenters.map((dc) => [dc.publishAddress, dc.host]),
        [
            ["127.0.0.1", { sshOpts: [] }],
            ["127.0.0.1", { sshOpts: [] }],
        ],
    );
    assert.match(agentStartScript(dc1.servers[1]), /= "\\"\$self:8300\\"" \]/);
});

// Before the run below: a program that fails leaves promises pending until the next run resets the mocks.
test("an image missing on another host fails with how to load it there", async () => {
    const dir = fakeCertDir();
    try {
        await assert.rejects(
            runProgram({
                computeState: fakeState,
                config: stackConfig({ datacenters: acrossHostsDatacenters(dir) }),
                missingImages: ["hashicorp/consul:1.22.7"],
            }),
            (err: Error) => {
                assert.match(
                    err.message,
                    /The image hashicorp\/consul:1\.22\.7 is not on dc2's Docker host \(tcp:\/\/192\.168\.77\.2:2376\), and its registry cannot be reached/,
                );
                assert.ok(
                    err.message.includes(
                        `docker save hashicorp/consul:1.22.7 | docker -H tcp://192.168.77.2:2376 --tlsverify --tlscacert ${dir}/ca.pem`,
                    ),
                    err.message,
                );
                return true;
            },
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

describe("the stack across hosts, under mocks", () => {
    let run: ProgramRun;
    let dir: string;
    before(async () => {
        dir = fakeCertDir();
        run = await runProgram({
            computeState: fakeState,
            config: stackConfig({ datacenters: acrossHostsDatacenters(dir) }),
        });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const providers = () => ofType(run, "pulumi:providers:docker");
    const providerOf = (urnPart: string) => providers().find((p) => p.name === urnPart);

    test("one Docker provider per datacenter on another host, with its endpoint and cert path; none for the local engine", () => {
        assert.deepEqual(
            providers().map((p) => [p.name, p.inputs.host, p.inputs.certPath]),
            [
                ["consul-dc2-docker", "tcp://192.168.77.2:2376", dir],
                ["consul-dc3-docker", "tcp://192.168.77.3:2376", dir],
            ],
        );
        assert.ok(providerOf("consul-dc2-docker"));
    });

    test("each datacenter's Docker resources go through its own host's provider; dc1's and acl-init through the local engine's", () => {
        const dockerTypes = [T.container, T.network, T.volume, T.image];
        for (const r of run.resources.filter((r) => dockerTypes.includes(r.type))) {
            const dc = /^consul-(dc[0-9])-/.exec(r.name)?.[1];
            const expected = dc === "dc2" || dc === "dc3" ? `consul-${dc}-docker` : undefined;
            assert.equal(r.provider?.split("::")[3]?.split("$").pop(), expected, `${r.type} ${r.name}`);
        }
    });

    test("there is no WAN network; each server publishes RPC and WAN Serf on its host's address, host port = container port", () => {
        assert.deepEqual(
            ofType(run, T.network)
                .map((n) => n.inputs.name)
                .sort(),
            ["dc1-lan", "dc2-lan", "dc3-lan"],
        );
        const ports = (name: string) =>
            (named(run, T.container, name).inputs.ports as Record<string, unknown>[]).map(
                (p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol}`,
            );
        assert.deepEqual(ports("dc1-server2"), [
            "192.168.77.1:8310->8310/tcp",
            "192.168.77.1:8312->8312/tcp",
            "192.168.77.1:8312->8312/udp",
            "192.168.77.1:8313->8501/tcp",
        ]);
        assert.deepEqual(ports("dc2-server1"), [
            "192.168.77.2:8300->8300/tcp",
            "192.168.77.2:8302->8302/tcp",
            "192.168.77.2:8302->8302/udp",
        ]);
        assert.deepEqual(ports("dc2-client1"), [
            "192.168.77.2:8500->8501/tcp",
            "192.168.77.2:8600->8600/tcp",
            "192.168.77.2:8600->8600/udp",
        ]);
        assert.deepEqual(ports("dc1-client1"), [
            "127.0.0.1:8500->8501/tcp",
            "127.0.0.1:8600->8600/tcp",
            "127.0.0.1:8600->8600/udp",
        ]);
        const networks = (named(run, T.container, "dc1-server1").inputs.networksAdvanced as { name: string }[]).map(
            (n) => n.name,
        );
        assert.deepEqual(networks, ["dc1-lan"]);
    });

    test("each mesh gateway publishes 8443 on its host's address, where the other hosts' gateways reach it, and joins only its LAN", () => {
        for (const [dc, host] of [
            ["dc1", "192.168.77.1"],
            ["dc2", "192.168.77.2"],
            ["dc3", "192.168.77.3"],
        ]) {
            const gateway = named(run, T.container, `${dc}-mesh-gateway`);
            assert.deepEqual(
                (gateway.inputs.ports as Record<string, unknown>[]).map(
                    (p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol}`,
                ),
                [`${host}:8443->8443/tcp`],
                dc,
            );
            assert.deepEqual(
                (gateway.inputs.networksAdvanced as { name: string }[]).map((n) => n.name),
                [`${dc}-lan`],
            );
        }
    });

    test("the healthcheck knows a leader by any of the datacenter's RPC ports", () => {
        const tests = (named(run, T.container, "dc1-server3").inputs.healthcheck as { tests: string[] }).tests;
        assert.equal(tests[1], "wget -q -O - http://127.0.0.1:8500/v1/status/leader | grep -qE ':(8300|8310|8320)'");
    });

    test("a remote datacenter's HTTPS certificate names its host address; the outputs give it", async () => {
        const csr = run.resources.find((r) => r.type === T.csr && r.name === "consul-dc2-client-cert-csr");
        assert.deepEqual(csr?.inputs.ipAddresses, ["127.0.0.1", "192.168.77.2"]);
        const dc1Csr = run.resources.find((r) => r.type === T.csr && r.name === "consul-dc1-client-cert-csr");
        assert.deepEqual(dc1Csr?.inputs.ipAddresses, ["127.0.0.1"]);
        const urls = await new Promise((resolve) => run.outputs.uiUrls.apply(resolve));
        assert.deepEqual(urls, {
            dc1: "https://127.0.0.1:8500/ui/dc1",
            dc2: "https://192.168.77.2:8500/ui/dc2",
            dc3: "https://192.168.77.3:8500/ui/dc3",
        });
        assert.equal(unwrapSecret(csr?.inputs.ipAddresses).secret, false);
    });
});
