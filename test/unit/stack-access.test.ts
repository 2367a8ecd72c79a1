// scripts/stack-access.ts, the one way scripts reach a stack: a stack config compiled as the program compiles
// it, docker's flags for each datacenter's host, the clusters a stack has (each with its own acl-init and
// management token), and the refusal of a config that no longer matches what runs.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { compileStack } from "../../components/model/compile";
import type { DatacenterSettings } from "../../components/model/settings";
import type { StackModel } from "../../components/model/stack-model";
import { dockerArgs, envNames } from "../../scripts/docker-cli";
import {
    clustersOf,
    deployed,
    managementToken,
    StackError,
    type StackOutputs,
    stackModel,
    stackSettings,
} from "../../scripts/stack-access";
import { stackConfig as configOf } from "../../scripts/stack-config";
import { fakeCertDir } from "../support/across-hosts";
import { devModel, peeringDc3 } from "../support/model";
import { meshlessDatacenters, projectRoot, stackConfig } from "../support/program";

const [dc1, dc2] = stackConfig().datacenters as DatacenterSettings[];
// The mesh cannot take a peering datacenter (mesh.test.ts): the peering shapes are the dev stack's without it.
const [meshless1, meshless2] = meshlessDatacenters() as unknown as DatacenterSettings[];
const meshOff = { mesh: false, intentions: [] };
const compiled = (datacenters: readonly object[], over: Record<string, unknown> = {}, root = projectRoot): StackModel =>
    compileStack(stackSettings(stackConfig({ datacenters, ...over }), root));
const hostFlags = (model: StackModel, root = projectRoot) =>
    Object.fromEntries(model.datacenters.map((dc) => [dc.name, dockerArgs(dc.host, root)]));

/** The peering tier's shape: dc1 and dc2 over the WAN, dc3 a cluster of its own. */
const peering = () => compiled([meshless1, meshless2, peeringDc3], { namePrefix: "peer-", ...meshOff });

/** The hosts tier's shape: dc1 here, dc2 on host b, dc3 and the peering dc4 on host c, over tcp:// with TLS. */
function acrossHosts(certPath: string): StackModel {
    const on = (n: number) => ({
        dockerHost: `tcp://192.168.77.${n}:2376`,
        dockerCertPath: certPath,
        hostAddress: `192.168.77.${n}`,
        httpPort: 8500,
        dnsPort: 8600,
    });
    return compiled(
        [
            { ...meshless1, hostAddress: "192.168.77.1" },
            { ...meshless2, ...on(2) },
            { ...meshless2, name: "dc3", subnet: "10.201.3.0/24", ...on(3) },
            {
                ...meshless2,
                name: "dc4",
                subnet: "10.201.4.0/24",
                ...on(3),
                httpPort: 8501,
                dnsPort: 8601,
                federation: "peering",
            },
        ],
        { namePrefix: "xh-", ...meshOff },
    );
}

const outputsOf = (model: StackModel, over: Partial<StackOutputs> = {}): StackOutputs => ({
    uiUrls: {},
    httpAddrs: {},
    dnsAddrs: {},
    caCertPem: "",
    containers: Object.fromEntries(
        model.datacenters.map((dc) => [
            dc.name,
            { servers: dc.servers.map((a) => a.name), clients: dc.clients.map((a) => a.name) },
        ]),
    ),
    ...over,
});

describe("docker's flags for each datacenter's Docker host, from the compiled model", () => {
    test("the dev stack runs on the local engine: no flags, so DOCKER_HOST applies as it does for the provider", () => {
        assert.deepEqual(hostFlags(devModel()), { dc1: [], dc2: [] });
    });

    test("a tcp:// host gets -H and its TLS client certificates, an ssh:// or unix:// host -H alone", () => {
        const certs = fakeCertDir();
        try {
            const model = compiled([
                { ...dc1, hostAddress: "192.168.77.1" },
                { ...dc2, dockerHost: "tcp://192.168.77.2:2376", dockerCertPath: certs, hostAddress: "192.168.77.2" },
                {
                    ...dc2,
                    name: "dc3",
                    subnet: "10.201.3.0/24",
                    dockerHost: "ssh://ops@192.168.77.3",
                    dockerSshOpts: ["-o", "StrictHostKeyChecking=yes"],
                    hostAddress: "192.168.77.3",
                },
                {
                    ...dc2,
                    name: "dc4",
                    subnet: "10.201.4.0/24",
                    dockerHost: "unix:///run/other/docker.sock",
                    hostAddress: "192.168.77.4",
                },
            ]);
            assert.deepEqual(hostFlags(model), {
                dc1: [],
                dc2: [
                    "-H",
                    "tcp://192.168.77.2:2376",
                    "--tlsverify",
                    "--tlscacert",
                    `${certs}/ca.pem`,
                    "--tlscert",
                    `${certs}/cert.pem`,
                    "--tlskey",
                    `${certs}/key.pem`,
                ],
                dc3: ["-H", "ssh://ops@192.168.77.3"],
                dc4: ["-H", "unix:///run/other/docker.sock"],
            });
        } finally {
            fs.rmSync(certs, { recursive: true, force: true });
        }
    });

    test("a relative dockerCertPath is the project's, where `pulumi up` reads it, wherever the script runs", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "stack-access-root-"));
        try {
            fs.mkdirSync(path.join(root, "certs"));
            ["ca.pem", "cert.pem", "key.pem"].forEach((f) => fs.writeFileSync(path.join(root, "certs", f), ""));
            const files = {
                kvSeed: path.join(projectRoot, "consul-config", "kv", "dev.json"),
                baseConfigDir: path.join(projectRoot, "consul-config"),
            };
            const model = compiled(
                [
                    { ...dc1, hostAddress: "192.168.77.1" },
                    {
                        ...dc2,
                        dockerHost: "tcp://192.168.77.2:2376",
                        dockerCertPath: "certs",
                        hostAddress: "192.168.77.2",
                    },
                ],
                files,
                root,
            );
            assert.equal(model.datacenters[1].host.certPath, path.join(root, "certs"));
            assert.deepEqual(dockerArgs(model.datacenters[1].host, "/elsewhere").slice(3, 5), [
                "--tlscacert",
                path.join(root, "certs", "ca.pem"),
            ]);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    test("the hosts tier's shape: dc2 on host b, dc3 and dc4 on host c, each through its own engine", () => {
        const certs = fakeCertDir();
        try {
            const flags = hostFlags(acrossHosts(certs));
            assert.deepEqual(flags.dc1, []);
            assert.deepEqual(
                [flags.dc2.slice(0, 2), flags.dc3.slice(0, 2)],
                [
                    ["-H", "tcp://192.168.77.2:2376"],
                    ["-H", "tcp://192.168.77.3:2376"],
                ],
            );
            assert.deepEqual(flags.dc4, flags.dc3);
        } finally {
            fs.rmSync(certs, { recursive: true, force: true });
        }
    });

    test("a token goes to docker exec by name only", () => {
        assert.deepEqual(envNames({ CONSUL_HTTP_TOKEN: "s3cr3t" }), ["--env", "CONSUL_HTTP_TOKEN"]);
    });
});

describe("the clusters a stack has: the first datacenter's, and each peering datacenter's", () => {
    const shape = (model: StackModel) =>
        clustersOf(model).map((c) => [c.primary.name, c.aclInitContainer, c.datacenters.map((d) => d.name)]);

    test("the dev stack is one cluster: dc1 with dc2, which joins it over the WAN", () => {
        assert.deepEqual(shape(devModel()), [["dc1", "consul-acl-init", ["dc1", "dc2"]]]);
    });

    test("a peering datacenter is a cluster of its own, with its own acl-init", () => {
        assert.deepEqual(shape(peering()), [
            ["dc1", "peer-consul-acl-init", ["dc1", "dc2"]],
            ["dc3", "peer-consul-acl-init-dc3", ["dc3"]],
        ]);
    });

    test("across hosts: dc1's cluster spans three hosts, dc4's lives on host c", () => {
        const certs = fakeCertDir();
        try {
            assert.deepEqual(shape(acrossHosts(certs)), [
                ["dc1", "xh-consul-acl-init", ["dc1", "dc2", "dc3"]],
                ["dc4", "xh-consul-acl-init-dc4", ["dc4"]],
            ]);
        } finally {
            fs.rmSync(certs, { recursive: true, force: true });
        }
    });

    test("each cluster's management token: a peering cluster's own, the first datacenter's from either output", () => {
        const model = peering();
        const [first, own] = clustersOf(model);
        const outputs = outputsOf(model, {
            aclBootstrapToken: "t1",
            aclBootstrapTokens: { dc1: "t1", dc2: "t1", dc3: "t3" },
        });
        assert.deepEqual([managementToken(outputs, first, "dc1"), managementToken(outputs, own, "dc1")], ["t1", "t3"]);
        // A stack deployed before peering existed has only aclBootstrapToken, and only one cluster.
        assert.equal(managementToken(outputsOf(model, { aclBootstrapToken: "t1" }), first, "dc1"), "t1");
        assert.throws(
            () => managementToken(outputsOf(model, { aclBootstrapToken: "t1" }), own, "dc1"),
            /no management token for dc3/,
        );
    });
});

describe("a stack's config is read as the program reads it", () => {
    test("values `pulumi config set` stored as text are parsed as the program parses them; a secret stays encrypted", () => {
        const name = `unit-stack-access-${process.pid}`;
        const file = path.join(projectRoot, `Pulumi.${name}.yaml`);
        const datacenters = [meshless1, { ...meshless2, name: "dc3", federation: "peering" }];
        fs.writeFileSync(
            file,
            [
                "config:",
                `  consul-multi-dc:datacenters: '${JSON.stringify(datacenters)}'`,
                '  consul-multi-dc:keepData: "true"',
                '  consul-multi-dc:failoverQueries: "false"',
                "  consul-multi-dc:namePrefix: lab-",
                "  consul-multi-dc:gossipKey:",
                "    secure: v1:c2VjcmV0",
                "",
            ].join("\n"),
        );
        try {
            const config = configOf(name);
            assert.deepEqual(config.datacenters, datacenters);
            assert.deepEqual(
                [config.keepData, config.failoverQueries, config.dnsAnonymousRead, config.namePrefix],
                [true, false, true, "lab-"],
            );
            assert.deepEqual(config.gossipKey, { secure: "v1:c2VjcmV0" });
            assert.deepEqual(
                clustersOf(stackModel(config)).map((c) => c.aclInitContainer),
                ["lab-consul-acl-init", "lab-consul-acl-init-dc3"],
            );
        } finally {
            fs.rmSync(file, { force: true });
        }
    });
});

describe("a stack whose config no longer matches what runs is refused", () => {
    test("the outputs are handed over when the config names the agents the stack runs, in whatever order the CLI prints them", () => {
        const model = devModel();
        assert.equal(deployed({ name: "dev", model, outputs: outputsOf(model) }).containers.dc1.servers.length, 3);
        // `pulumi stack output --json` prints keys sorted: clients before servers, as here.
        const sorted = Object.fromEntries(
            Object.entries(outputsOf(model).containers)
                .reverse()
                .map(([dc, c]) => [dc, { clients: c.clients, servers: c.servers }]),
        );
        assert.equal(
            deployed({ name: "dev", model, outputs: outputsOf(model, { containers: sorted }) }).containers,
            sorted,
        );
    });

    test("a datacenter added or an agent removed since the last `pulumi up`, or no outputs at all, is a StackError saying what to do", () => {
        const model = devModel();
        const running = outputsOf(model);
        const lessServers = {
            ...running,
            containers: { ...running.containers, dc1: { ...running.containers.dc1, servers: ["dc1-server1"] } },
        };
        assert.throws(
            () => deployed({ name: "dev", model: peering(), outputs: running }),
            (e: Error) =>
                e instanceof StackError &&
                /Pulumi\.dev\.yaml names other datacenters or agents than the stack dev runs: run `pulumi up` first/.test(
                    e.message,
                ),
        );
        assert.throws(() => deployed({ name: "dev", model, outputs: lessServers }), StackError);
        assert.throws(
            () => deployed({ name: "dev", model }),
            /cannot read the outputs of the stack dev; run `pulumi up` first/,
        );
    });
});
