// The service mesh (mesh.ts, render/mesh.ts, service-definitions.ts, mesh-proxies.ts): the mesh keys checked at
// preview, each problem naming its key and what is allowed; the model's sidecars and mesh gateways; what the agents
// load and the config entries written through the primary; and under mocks, the Envoy containers of the dev stack,
// its config entries, and a stack without the mesh left as it was.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { compileStack } from "../../components/model/compile";
import { sidecarPorts } from "../../components/model/mesh-ports";
import { parseStack } from "../../components/model/parse";
import { runningShape, shapeChangeProblems } from "../../components/model/running-shape";
import type { StackModel } from "../../components/model/stack-model";
import { envoyEnvironment, meshAgentConfig, meshConfigEntries } from "../../components/render/mesh";
import { instancePages, serviceDefinitions } from "../../components/render/service-definitions";
import { acrossHostsDatacenters } from "../support/across-hosts";
import {
    agents,
    instances,
    labelsOf,
    named,
    ofType,
    secretValues,
    T,
    type Upload,
    upload,
    uploads,
} from "../support/declared";
import { devStackRun, fakeSecretUuid, fakeState } from "../support/fake-state";
import { devModel, devSettings, meshlessSettings, peeringDc3, problemsOf } from "../support/model";
import {
    meshlessConfig,
    outputValue,
    type ProgramRun,
    reveal,
    runProgram,
    stackConfig,
    unwrapSecret,
} from "../support/program";

const dynamicType = "pulumi-nodejs:dynamic:Resource";
/** The mesh's config entries among the dynamic resources, by name. */
/** The stack's one IntentionsSweep, if it has one. */
const sweepOf = (run: ProgramRun) => ofType(run, dynamicType).find((r) => r.name === "consul-intentions-sweep");
const configEntries = (run: ProgramRun) =>
    ofType(run, dynamicType).filter((r) =>
        /^consul-(proxy-defaults|service-resolver|service-intentions)-/.test(r.name),
    );
/** A mutable copy of the dev stack's datacenters (dc1 runs web twice and frontend, which calls web; dc2 runs web). */
const dcs = () => structuredClone(stackConfig().datacenters) as Record<string, any>[];
/** `datacenters` without the services that call an upstream, which only the mesh takes. */
const withoutUpstreams = (datacenters: Record<string, any>[]) =>
    datacenters.map((dc) => ({
        ...dc,
        services: (dc.services ?? []).filter((s: { upstream?: string }) => !s.upstream),
    }));
const withServices = (i: number, change: (services: Record<string, unknown>[]) => void) => {
    const datacenters = dcs();
    change(datacenters[i].services);
    return { datacenters };
};

describe("the mesh keys are checked at preview, each problem naming its key and what is allowed", () => {
    // Each case: the dev stack's config with these keys changed (as the stack file would hold them), and every
    // problem compileStack lists for it.
    const cases: { what: string; over: Record<string, unknown>; problems: string[] }[] = [
        {
            what: "meshGateways off with two WAN datacenters",
            over: { meshGateways: false },
            problems: [
                "meshGateways: a mesh across datacenters needs a mesh gateway in each (their LANs cannot reach each " +
                    "other's sidecars): set it to true, or keep one datacenter",
            ],
        },
        {
            what: "an intention whose source is no demo service",
            over: { intentions: [{ source: "api", destination: "web" }] },
            problems: ['intentions[0].source must name a demo service in the mesh (frontend, web), not "api"'],
        },
        {
            what: "an intention whose destination is no demo service",
            over: { intentions: [{ source: "frontend", destination: "db" }] },
            problems: ['intentions[0].destination must name a demo service in the mesh (frontend, web), not "db"'],
        },
        {
            what: "an intention's action other than allow or deny",
            over: { intentions: [{ source: "frontend", destination: "web", action: "permit" }] },
            problems: ['intentions[0].action must be "allow" or "deny", not "permit"'],
        },
        {
            what: "the same source and destination twice",
            over: {
                intentions: [
                    { source: "frontend", destination: "web" },
                    { source: "web", destination: "frontend", action: "deny" },
                    { source: "frontend", destination: "web", action: "deny" },
                ],
            },
            problems: ["intentions[2] repeats intentions[0] (frontend → web); each source and destination pair once"],
        },
        {
            what: "an unknown key of an intention",
            over: { intentions: [{ source: "frontend", destination: "web", acton: "deny" }] },
            problems: ["intentions[0].acton is not a key of an intention; allowed: source, destination, action"],
        },
        {
            what: "intentions that are not a list",
            over: { intentions: { source: "frontend", destination: "web" } },
            problems: [
                'intentions must be a list of { source, destination, action }, not {"source":"frontend","destination":"web"}',
            ],
        },
        {
            what: "intentions without the mesh",
            over: { mesh: false, datacenters: withoutUpstreams(dcs()) },
            problems: ["intentions need the service mesh: set mesh to true, or remove them"],
        },
        {
            what: "a service's upstream without the mesh",
            over: { mesh: false, intentions: [] },
            problems: ["datacenters[0].services[1].upstream needs the service mesh: set mesh to true, or remove it"],
        },
        {
            what: "an upstream that names no demo service",
            over: withServices(0, (s) => Object.assign(s[1], { upstream: "api" })),
            problems: [
                'datacenters[0].services[1].upstream must name a demo service in the mesh (frontend, web), not "api"',
            ],
        },
        {
            what: "an upstream that names the service itself",
            over: { ...withServices(0, (s) => Object.assign(s[1], { upstream: "frontend" })), intentions: [] },
            problems: ["datacenters[0].services[1].upstream names the service itself; name another service it calls"],
        },
        ...sidecarPorts.map((port) => ({
            what: `a service on port ${port}, which its sidecar listens on`,
            over: withServices(0, (s) => Object.assign(s[0], { port })),
            problems: [
                `datacenters[0].services[0].port ${port} is one its sidecar listens on (21000, 21500, 9191, 19000); ` +
                    "choose another",
            ],
        })),
        {
            what: "a peering datacenter's service with an upstream",
            over: {
                datacenters: [...dcs(), { ...peeringDc3, services: [{ name: "api", port: 8080, upstream: "web" }] }],
            },
            problems: [
                "datacenters[2].services[0].upstream: the mesh spans the WAN federation, and dc3 peers instead; " +
                    "its services stay outside the mesh",
            ],
        },
        {
            what: "an intention naming a service only a peering datacenter runs",
            over: {
                datacenters: [...dcs(), { ...peeringDc3, services: [{ name: "api", port: 8080 }] }],
                intentions: [{ source: "api", destination: "web" }],
            },
            problems: ['intentions[0].source must name a demo service in the mesh (frontend, web), not "api"'],
        },
        {
            what: "a datacenter without a client for its mesh gateway",
            over: { datacenters: [dcs()[0], { ...dcs()[1], clients: 0, services: [] }] },
            problems: [
                "datacenters[1].clients: the mesh gateway of dc2 registers on a client agent, and it has none; give it one",
            ],
        },
        ...[0, 70000, "8080"].map((publishPort) => ({
            what: `publishPort ${JSON.stringify(publishPort)}`,
            over: { ...withServices(0, (s) => Object.assign(s[1], { publishPort })), intentions: [] },
            problems: [
                `datacenters[0].services[1].publishPort must be a port number from 1 to 65535, not ${JSON.stringify(publishPort)}`,
            ],
        })),
        {
            what: "publishPort on its datacenter's httpPort",
            over: withServices(0, (s) => Object.assign(s[1], { publishPort: 8500 })),
            problems: [
                "datacenters[0].services[1].publishPort is 8500, which datacenters[0].httpPort already uses; " +
                    "each host port must be unique on a Docker host",
            ],
        },
        {
            what: "publishPort on another datacenter's httpPort on the same host",
            over: withServices(0, (s) => Object.assign(s[1], { publishPort: 8501 })),
            problems: [
                "datacenters[1].httpPort is 8501, which datacenters[0].services[1].publishPort already uses; " +
                    "each host port must be unique on a Docker host",
            ],
        },
        {
            what: "a second instance published on a datacenter's httpPort",
            over: withServices(0, (s) => Object.assign(s[1], { publishPort: 8499, instances: 2 })),
            problems: [
                "datacenters[0].services[1].publishPort: its instance 2 would publish port 8500, which " +
                    "datacenters[0].httpPort already uses on the same Docker host. Each instance of a service " +
                    "publishes the port after the one before",
            ],
        },
        {
            what: "a service named mesh-gateway",
            over: withServices(1, (s) => Object.assign(s[0], { name: "mesh-gateway" })),
            problems: [
                `datacenters[1].services[0].name "mesh-gateway" is the mesh gateways' service; choose another name`,
            ],
        },
    ];

    test("each bad mesh key is refused by compileStack with exactly its problem", () => {
        for (const c of cases) {
            assert.deepEqual(problemsOf(devSettings(c.over)), c.problems, c.what);
        }
    });

    test("each is refused by the program at preview, before anything is made, with the same words", async () => {
        for (const c of cases) {
            await assert.rejects(
                runProgram({ computeState: fakeState, config: stackConfig(c.over), preview: true }),
                (err: Error) => {
                    assert.match(err.message, /^Invalid stack config:\n/, c.what);
                    for (const p of c.problems) {
                        assert.ok(err.message.includes(`  - ${p}`), `${c.what}: ${err.message}`);
                    }
                    return true;
                },
            );
        }
    });

    test("mesh and meshGateways must be booleans: at preview as Pulumi reads the stack file, and as args", async () => {
        for (const key of ["mesh", "meshGateways"]) {
            await assert.rejects(
                runProgram({ computeState: fakeState, config: stackConfig({ [key]: "yes" }), preview: true }),
                new RegExp(`Configuration 'consul-multi-dc:${key}' value 'yes' is not a valid boolean`),
            );
        }
        assert.equal(problemsOf(devSettings({ mesh: "yes" }))[0], 'mesh must be true or false, not "yes"');
        assert.deepEqual(problemsOf(devSettings({ meshGateways: 1 })), ["meshGateways must be true or false, not 1"]);
    });

    test("what the mesh takes: one datacenter without gateways, sidecar ports and mesh-gateway as a name without it", () => {
        const [dc1] = dcs();
        assert.doesNotThrow(() => compileStack(devSettings({ meshGateways: false, datacenters: [dc1] })));
        assert.doesNotThrow(() =>
            compileStack(
                devSettings({
                    meshGateways: false,
                    datacenters: [{ ...dc1, services: [...dc1.services, { name: "mesh-gateway", port: 8080 }] }],
                }),
            ),
        );
        // Without the mesh there is no sidecar to make way for.
        const meshless = meshlessSettings();
        const web = (meshless.datacenters[0].services ?? [])[0];
        assert.doesNotThrow(() =>
            compileStack({
                ...meshless,
                datacenters: [{ ...meshless.datacenters[0], services: [{ ...web, port: 21000 }] }],
            }),
        );
    });

    test("mesh gateways take WAN addresses from the top: the servers get the room left", () => {
        const datacenters = dcs();
        datacenters[0].servers = 89;
        datacenters[1].servers = 89;
        datacenters.push({
            name: "dc3",
            servers: 63,
            clients: 1,
            subnet: "10.201.3.0/24",
            httpPort: 8502,
            dnsPort: 8602,
        });
        assert.doesNotThrow(() => compileStack(devSettings({ datacenters })), "241 servers and 3 gateways fit");
        datacenters[2].servers = 64;
        assert.deepEqual(problemsOf(devSettings({ datacenters })), [
            "wanSubnet 10.201.0.0/24 has no room for 242 servers and 3 mesh gateways; use a larger subnet",
        ]);
        assert.doesNotThrow(
            () => compileStack(meshlessSettings({ datacenters: withoutUpstreams(datacenters) })),
            "without the mesh, 242 servers fit",
        );
    });
});

describe("the model of the mesh", () => {
    const model = devModel();
    const sidecars = (m: StackModel) =>
        Object.fromEntries(m.datacenters.flatMap((dc) => dc.instances.map((i) => [i.id, i.sidecar])));

    test("the parsed config: the gateways on, and each intention with its action, allow unless set", () => {
        assert.deepEqual(parseStack(devSettings()).config?.mesh, {
            gateways: true,
            intentions: [{ source: "frontend", destination: "web", action: "allow" }],
        });
        assert.deepEqual(model.mesh, parseStack(devSettings()).config?.mesh);
        assert.equal(model.envoyImage, "consul-multi-dc/envoy:1.36.2-consul1.22.7");
    });

    test("each instance has a sidecar, its container and proxy ID named from it; a caller's upstream listens on 9191", () => {
        assert.deepEqual(sidecars(model), {
            "dc1-web-1": { container: "dc1-web-1-sidecar", proxyId: "dc1-web-1-sidecar-proxy" },
            "dc1-web-2": { container: "dc1-web-2-sidecar", proxyId: "dc1-web-2-sidecar-proxy" },
            "dc1-frontend-1": {
                container: "dc1-frontend-1-sidecar",
                proxyId: "dc1-frontend-1-sidecar-proxy",
                upstream: { service: "web", localPort: 9191 },
            },
            "dc2-web-1": { container: "dc2-web-1-sidecar", proxyId: "dc2-web-1-sidecar-proxy" },
        });
        const frontend = model.datacenters[0].instances[2];
        assert.deepEqual([frontend.address, frontend.publishPort], ["10.201.1.203", 8080]);
        assert.deepEqual(sidecars(devModel({ namePrefix: "lab-" }))["lab-dc1-web-1"], {
            container: "lab-dc1-web-1-sidecar",
            proxyId: "lab-dc1-web-1-sidecar-proxy",
        });
    });

    test("on one host each datacenter's gateway sits at .254 of its LAN, and on the WAN network from its top down", () => {
        assert.deepEqual(
            model.datacenters.map((dc) => dc.meshGateway),
            [
                { id: "dc1-mesh-gateway", lanAddress: "10.201.1.254", wan: { address: "10.201.0.254", port: 8443 } },
                { id: "dc2-mesh-gateway", lanAddress: "10.201.2.254", wan: { address: "10.201.0.253", port: 8443 } },
            ],
        );
        const wide = devModel({ wanSubnet: "10.200.0.0/16", namePrefix: "lab-" });
        assert.deepEqual(
            wide.datacenters.map((dc) => [dc.meshGateway?.id, dc.meshGateway?.wan.address]),
            [
                ["lab-dc1-mesh-gateway", "10.200.255.254"],
                ["lab-dc2-mesh-gateway", "10.200.255.253"],
            ],
        );
    });

    test("across hosts each gateway is reached on its host's address, at 8443 for a host's first datacenter, 8444 for its second", () => {
        const datacenters = acrossHostsDatacenters("/certs");
        // dc3 beside dc2 on host .2.
        datacenters[2] = {
            ...datacenters[2],
            dockerHost: datacenters[1].dockerHost,
            hostAddress: "192.168.77.2",
            httpPort: 8502,
            dnsPort: 8602,
        };
        const across = compileStack({
            ...devSettings(),
            datacenters,
            dockerCertFiles: { "/certs": ["ca.pem", "cert.pem", "key.pem"] },
        });
        assert.deepEqual(
            across.datacenters.map((dc) => dc.meshGateway),
            [
                {
                    id: "dc1-mesh-gateway",
                    lanAddress: "10.201.1.254",
                    wan: { address: "192.168.77.1", port: 8443 },
                    hostPort: 8443,
                },
                {
                    id: "dc2-mesh-gateway",
                    lanAddress: "10.201.2.254",
                    wan: { address: "192.168.77.2", port: 8443 },
                    hostPort: 8443,
                },
                {
                    id: "dc3-mesh-gateway",
                    lanAddress: "10.201.3.254",
                    wan: { address: "192.168.77.2", port: 8444 },
                    hostPort: 8444,
                },
            ],
        );
        // A port of that host the gateway would publish is refused, naming meshGateways.
        datacenters[1] = { ...datacenters[1], httpPort: 8443 };
        assert.deepEqual(
            problemsOf({
                ...devSettings(),
                datacenters,
                dockerCertFiles: { "/certs": ["ca.pem", "cert.pem", "key.pem"] },
            }),
            [
                "meshGateways: dc2's mesh gateway would publish port 8443, which datacenters[1].httpPort already uses " +
                    "on the same Docker host. Mesh gateways across hosts publish 8443 up, one port per datacenter on a host",
            ],
        );
    });

    test("without gateways, sidecars but no gateway; without the mesh, neither, and no mesh in the model", () => {
        const single = devModel({ meshGateways: false, datacenters: [dcs()[0]] });
        assert.deepEqual(single.mesh?.gateways, false);
        assert.equal(single.datacenters[0].meshGateway, undefined);
        assert.ok(single.datacenters[0].instances.every((i) => i.sidecar));
        const meshless = compileStack(meshlessSettings());
        assert.equal(meshless.mesh, undefined);
        for (const dc of meshless.datacenters) {
            assert.equal(dc.meshGateway, undefined, dc.name);
            assert.ok(
                dc.instances.every((i) => i.sidecar === undefined),
                `${dc.name}'s instances have no sidecar`,
            );
        }
    });
});

describe("a peering datacenter beside the mesh", () => {
    test("stays outside it: no Connect file, sidecar or gateway there, while the WAN datacenters keep theirs", () => {
        const model = devModel({
            datacenters: [...dcs(), { ...peeringDc3, services: [{ name: "api", port: 8080 }] }],
        });
        assert.deepEqual(
            model.datacenters.map((dc) => [
                dc.name,
                dc.inMesh,
                dc.meshGateway?.id,
                dc.instances.map((i) => !!i.sidecar),
            ]),
            [
                ["dc1", true, "dc1-mesh-gateway", [true, true, true]],
                ["dc2", true, "dc2-mesh-gateway", [true]],
                ["dc3", false, undefined, [false]],
            ],
        );
        // No resolver: Consul refuses to export to a peer a service whose calls fail over across datacenters,
        // and dc1 exports its services to dc3.
        assert.deepEqual(
            meshConfigEntries(model)
                .filter((e) => e.Kind === "service-resolver")
                .map((e) => e.Name),
            [],
        );
    });
});

describe("what the mesh renders", () => {
    const model = devModel();
    const [dc1, dc2] = model.datacenters;
    const tokens = { web: "t-web", frontend: "t-frontend", "mesh-gateway": "t-gateway" };
    const definitions = (dc = dc1) =>
        (serviceDefinitions(dc.instances, tokens, dc.meshGateway) as { services: Record<string, any>[] }).services;

    test("an instance registers with its sidecar: public port 21000, the instance on 127.0.0.1, its upstream, and its check exposed on 21500", () => {
        const frontend = definitions().find((d) => d.id === "dc1-frontend-1");
        assert.deepEqual(frontend, {
            id: "dc1-frontend-1",
            name: "frontend",
            address: "10.201.1.203",
            port: 8080,
            tags: ["demo"],
            meta: { instance: "dc1-frontend-1" },
            token: "t-frontend",
            check: {
                id: "dc1-frontend-1-http",
                name: "HTTP /health on dc1-frontend-1",
                // The agent reaches the check only through the sidecar's exposed path.
                http: "http://10.201.1.203:21500/health",
                interval: "2s",
                timeout: "2s",
            },
            connect: {
                sidecar_service: {
                    port: 21000,
                    proxy: {
                        local_service_address: "127.0.0.1",
                        local_service_port: 8080,
                        upstreams: [
                            {
                                destination_name: "web",
                                local_bind_address: "127.0.0.1",
                                local_bind_port: 9191,
                                // Failover on the first failed call, not on the agent's next check.
                                config: {
                                    passive_health_check: {
                                        interval: "1s",
                                        max_failures: 1,
                                        enforcing_consecutive_5xx: 100,
                                        max_ejection_percent: 100,
                                        base_ejection_time: "3s",
                                    },
                                },
                            },
                        ],
                        expose: {
                            paths: [{ path: "/health", local_path_port: 8080, listener_port: 21500, protocol: "http" }],
                        },
                    },
                },
            },
        });
        const web = definitions().find((d) => d.id === "dc1-web-1");
        assert.deepEqual(web?.connect.sidecar_service.proxy.upstreams, [], "web calls nothing");
        assert.equal(web?.check.http, "http://10.201.1.201:21500/health");
    });

    test("each datacenter's gateway registers as a mesh-gateway with its LAN and WAN addresses, Envoy bound on 0.0.0.0:8443", () => {
        const gateways = [dc1, dc2].map((dc) => definitions(dc).find((d) => d.kind === "mesh-gateway"));
        assert.deepEqual(gateways[0], {
            kind: "mesh-gateway",
            id: "dc1-mesh-gateway",
            name: "mesh-gateway",
            address: "10.201.1.254",
            port: 8443,
            tagged_addresses: {
                lan: { address: "10.201.1.254", port: 8443 },
                wan: { address: "10.201.0.254", port: 8443 },
            },
            token: "t-gateway",
            proxy: {
                config: {
                    envoy_mesh_gateway_no_default_bind: true,
                    envoy_mesh_gateway_bind_addresses: { all: { address: "0.0.0.0", port: 8443 } },
                },
            },
            check: {
                id: "dc1-mesh-gateway-tcp",
                name: "TCP 10.201.1.254:8443 on dc1-mesh-gateway",
                tcp: "10.201.1.254:8443",
                interval: "2s",
                timeout: "1s",
            },
        });
        assert.deepEqual(gateways[1]?.tagged_addresses, {
            lan: { address: "10.201.2.254", port: 8443 },
            wan: { address: "10.201.0.253", port: 8443 },
        });
    });

    test("without the mesh an instance registers as before: no sidecar, its check on its own port, no gateway", () => {
        const meshless = compileStack(meshlessSettings()).datacenters[0];
        const defs = (serviceDefinitions(meshless.instances, tokens, meshless.meshGateway) as { services: any[] })
            .services;
        assert.deepEqual(
            defs.map((d) => d.id),
            ["dc1-web-1", "dc1-web-2"],
        );
        assert.ok(defs.every((d) => d.connect === undefined && d.kind === undefined));
        assert.equal(defs[0].check.http, "http://10.201.1.201:8080/health");
    });

    test("every agent turns Connect on and serves its proxies over gRPC with TLS", () => {
        assert.match(meshAgentConfig, /^connect \{\n {2}enabled = true\n\}$/m);
        assert.match(meshAgentConfig, /^ports \{\n {2}grpc_tls = 8503\n\}$/m);
    });

    test("an Envoy is told its proxy, and fetches its config from its datacenter's first client over TLS", () => {
        assert.deepEqual(envoyEnvironment(dc2, "dc2-web-1-sidecar-proxy", { ca: "/ca.pem", token: "/token" }), [
            "PROXY_ID=dc2-web-1-sidecar-proxy",
            "ADMIN_PORT=19000",
            "CONSUL_HTTP_ADDR=https://10.201.2.101:8501",
            "CONSUL_GRPC_ADDR=https://10.201.2.101:8503",
            "CONSUL_CACERT=/ca.pem",
            "CONSUL_TLS_SERVER_NAME=client.dc2.consul",
            "CONSUL_HTTP_TOKEN_FILE=/token",
        ]);
    });

    test("config entries: HTTP proxy defaults through the local gateway, a resolver per service, intentions per destination", () => {
        assert.deepEqual(meshConfigEntries(model), [
            { Kind: "proxy-defaults", Name: "global", Config: { protocol: "http" }, MeshGateway: { Mode: "local" } },
            {
                Kind: "service-resolver",
                Name: "web",
                ConnectTimeout: "2s",
                Failover: { "*": { Datacenters: ["dc1", "dc2"] } },
            },
            {
                Kind: "service-intentions",
                Name: "web",
                // How the stack finds its own entries again after a mesh turned off left them (IntentionsSweep).
                Meta: { "written-by": "consul-multi-dc" },
                Sources: [{ Name: "frontend", Action: "allow", Description: "from the stack's intentions config" }],
            },
        ]);
    });

    test("a resolver fails over to the datacenters that run its service, in stack order; one entry per destination", () => {
        const [first, second] = dcs();
        const three = devModel({
            datacenters: [
                first,
                { ...second, services: [] },
                {
                    ...second,
                    name: "dc0",
                    subnet: "10.201.3.0/24",
                    httpPort: 8502,
                    dnsPort: 8602,
                    services: [...second.services, { name: "api", port: 9090 }],
                },
            ],
            intentions: [
                { source: "frontend", destination: "web" },
                { source: "web", destination: "frontend", action: "deny" },
                { source: "api", destination: "web", action: "deny" },
            ],
        });
        const entries = meshConfigEntries(three);
        const failover = (kind: string) =>
            Object.fromEntries(
                entries
                    .filter((e) => e.Kind === kind)
                    .map((e) => [e.Name, (e.Failover as Record<string, { Datacenters: string[] }>)["*"].Datacenters]),
            );
        // A service only one datacenter runs has no other to fail over to, and no resolver.
        assert.deepEqual(failover("service-resolver"), { web: ["dc1", "dc0"] });
        assert.deepEqual(
            entries
                .filter((e) => e.Kind === "service-intentions")
                .map((e) => [
                    e.Name,
                    (e.Sources as { Name: string; Action: string }[]).map((s) => `${s.Name}:${s.Action}`),
                ]),
            [
                ["web", ["frontend:allow", "api:deny"]],
                ["frontend", ["web:deny"]],
            ],
        );
    });

    test("without gateways the proxy defaults name none; without the mesh there is no entry", () => {
        assert.deepEqual(meshConfigEntries(devModel({ meshGateways: false, datacenters: [dcs()[0]] }))[0], {
            Kind: "proxy-defaults",
            Name: "global",
            Config: { protocol: "http" },
        });
        assert.deepEqual(meshConfigEntries(compileStack(meshlessSettings())), []);
    });

    test("an instance with an upstream answers with a CGI script that calls it on 127.0.0.1:9191 through its sidecar", () => {
        const frontend = dc1.instances[2];
        const pages = instancePages(frontend);
        assert.deepEqual(
            pages.map((p) => [p.path, p.executable ?? false]),
            [
                ["/cgi-bin/index.cgi", true],
                ["/health", false],
            ],
        );
        const script = pages[0].content;
        assert.match(script, /wget -q -O - http:\/\/127\.0\.0\.1:9191\//);
        // busybox 1.35's static wget crashes with -T.
        assert.doesNotMatch(script, /wget[^\n]* -T/);
        // A web instance of the mesh serves its page, which names it.
        assert.deepEqual(
            instancePages(dc1.instances[0]).map((p) => p.path),
            ["/index.html", "/health"],
        );
    });

    test("the script answers with the upstream's answer, naming the caller, or a 502 when the mesh gives none", () => {
        const script = instancePages(dc1.instances[2])[0].content;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-cgi-"));
        try {
            fs.writeFileSync(path.join(dir, "index.cgi"), script);
            // A wget that answers as web does, only when asked as the script must ask (no -T), or fails.
            const stub = (answer: boolean) =>
                fs.writeFileSync(
                    path.join(dir, "wget"),
                    [
                        "#!/bin/sh",
                        'for a in "$@"; do [ "$a" = "-T" ] && exit 9; done',
                        '[ "$*" = "-q -O - http://127.0.0.1:9191/" ] || exit 8',
                        answer
                            ? `printf '%s\\n' '{"service":"web","instance":"dc2-web-1","datacenter":"dc2"}'`
                            : "exit 1",
                        "",
                    ].join("\n"),
                    { mode: 0o755 },
                );
            const run = () =>
                spawnSync("sh", [path.join(dir, "index.cgi")], {
                    encoding: "utf8",
                    env: { PATH: `${dir}:/usr/bin:/bin` },
                });
            stub(true);
            assert.equal(
                run().stdout,
                'Content-Type: application/json\r\n\r\n{"caller":"dc1-frontend-1","upstream":"web","instance":"dc2-web-1","datacenter":"dc2"}\n',
            );
            stub(false);
            assert.equal(
                run().stdout,
                "Status: 502 Bad Gateway\r\nContent-Type: application/json\r\n\r\n" +
                    '{"caller":"dc1-frontend-1","upstream":"web","error":"no answer through the mesh"}\n',
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the dev stack's mesh, under mocks", () => {
    let run: ProgramRun;
    before(async () => {
        run = await devStackRun();
    });
    const model = devModel();

    test("each instance's sidecar holds the instance's LAN address; the instance joins its network namespace and no network", () => {
        for (const dc of model.datacenters) {
            for (const i of dc.instances) {
                const sidecar = named(run, T.container, `${i.id}-sidecar`);
                assert.deepEqual(sidecar.inputs.networksAdvanced, [
                    { name: `${dc.name}-lan`, ipv4Address: i.address, aliases: [i.id] },
                ]);
                assert.deepEqual(labelsOf(sidecar), {
                    "consul.stack": "dev",
                    "consul.datacenter": dc.name,
                    "consul.role": "sidecar",
                    "consul.service": i.service,
                });
                assert.equal(sidecar.inputs.image, `sha256:consul-${dc.name}-envoy-image`);
                assert.ok((sidecar.inputs.envs as string[]).includes(`PROXY_ID=${i.id}-sidecar-proxy`));
                const instance = named(run, T.container, i.id);
                assert.equal(instance.inputs.networkMode, `container:${sidecar.name}-id`, i.id);
                assert.equal(instance.inputs.networksAdvanced, undefined, `${i.id} joins no network of its own`);
            }
        }
        assert.equal(instances(run).length, 4);
    });

    test("frontend's sidecar publishes 127.0.0.1:8080 to it, where frontend listens; web listens on its loopback only", () => {
        assert.deepEqual(named(run, T.container, "dc1-frontend-1-sidecar").inputs.ports, [
            { internal: 8080, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        const listen = (name: string) => (named(run, T.container, name).inputs.command as string[])[3];
        assert.equal(listen("dc1-frontend-1"), "8080");
        assert.equal(listen("dc1-web-1"), "127.0.0.1:8080");
        const cgi = (named(run, T.container, "dc1-frontend-1").inputs.uploads as (Upload & { permissions?: string })[])
            .filter((u) => u.file === "/www/cgi-bin/index.cgi")
            .map((u) => u.permissions);
        assert.deepEqual(cgi, ["0755"], "its CGI script, executable by httpd's user");
    });

    test("each mesh gateway is on its LAN at .254 and on the WAN network, and publishes nothing on one host", () => {
        for (const [dc, wan] of [
            ["dc1", "10.201.0.254"],
            ["dc2", "10.201.0.253"],
        ]) {
            const gateway = named(run, T.container, `${dc}-mesh-gateway`);
            assert.deepEqual(gateway.inputs.networksAdvanced, [
                { name: `${dc}-lan`, ipv4Address: `10.201.${dc.slice(2)}.254`, aliases: [`${dc}-mesh-gateway`] },
                { name: "consul-wan", ipv4Address: wan },
            ]);
            assert.deepEqual(gateway.inputs.ports, []);
            assert.equal(labelsOf(gateway)["consul.role"], "mesh-gateway");
            assert.ok((gateway.inputs.envs as string[]).includes(`PROXY_ID=${dc}-mesh-gateway`));
        }
    });

    test("each proxy's token is uploaded as a secret, the token of its service; its environment holds no secret", () => {
        const proxies = ofType(run, T.container).filter((c) =>
            ["sidecar", "mesh-gateway"].includes(labelsOf(c)["consul.role"]),
        );
        assert.equal(proxies.length, 6, "4 sidecars and 2 gateways");
        for (const proxy of proxies) {
            const service = labelsOf(proxy)["consul.service"] ?? "mesh-gateway";
            assert.ok(unwrapSecret(proxy.inputs.uploads).secret, `${proxy.inputs.name}: uploads must be secret`);
            const token = uploads(proxy).find((u) => u.file === "/consul/proxy-token");
            assert.equal(
                reveal(token?.content),
                fakeSecretUuid(`consul-service-${service}-token-secret`),
                `${proxy.inputs.name} holds its service's token`,
            );
            const env = JSON.stringify(proxy.inputs.envs);
            assert.ok(
                secretValues(run).every((v) => !env.includes(v)),
                `${proxy.inputs.name}'s environment holds no secret`,
            );
        }
        // acl-init creates those tokens, each with its service's identity.
        const script = upload(named(run, T.container, "consul-acl-init"), "../acl-init/init.sh").content as string;
        for (const service of ["web", "frontend", "mesh-gateway"]) {
            assert.ok(
                script.includes(
                    `'${fakeSecretUuid(`consul-service-${service}-token-secret`)}' ` +
                        `'registers the ${service} service' '-service-identity' '${service}'`,
                ),
                service,
            );
        }
    });

    test("one ConfigEntry per mesh entry, written through dc1's API with its management token as a secret", () => {
        const entries = configEntries(run);
        assert.deepEqual(entries.map((e) => e.name).sort(), [
            "consul-proxy-defaults-global",
            "consul-service-intentions-web",
            "consul-service-resolver-web",
        ]);
        for (const expected of meshConfigEntries(model)) {
            const entry = entries.find((e) => e.name === `consul-${expected.Kind}-${expected.Name}`);
            assert.ok(entry, `${expected.Kind} ${expected.Name}`);
            assert.deepEqual(JSON.parse(entry.inputs.entry as string), expected);
            assert.deepEqual(
                [entry.inputs.kind, entry.inputs.entryName, entry.inputs.httpAddr, entry.inputs.datacenter],
                [expected.Kind, expected.Name, "127.0.0.1:8500", "dc1"],
            );
            assert.ok(unwrapSecret(entry.inputs.token).secret, `${entry.name}: the token is a secret`);
            assert.equal(unwrapSecret(entry.inputs.token).value, fakeSecretUuid("consul-acl-management-token"));
        }
    });

    test("one IntentionsSweep in dc1, keeping the destinations the config has, its token a secret", () => {
        const sweep = sweepOf(run);
        assert.ok(sweep);
        assert.deepEqual([sweep.inputs.keep, sweep.inputs.datacenter], [["web"], "dc1"]);
        assert.ok(unwrapSecret(sweep.inputs.token).secret);
    });

    test("meshDemoUrl is frontend's published port, not a secret", async () => {
        assert.equal(await outputValue(run.outputs.meshDemoUrl), "http://127.0.0.1:8080/");
        assert.equal(await pulumi.isSecret(run.outputs.meshDemoUrl), false);
    });
});

describe("the mesh's resources follow the config", () => {
    test("removing the intention removes its service-intentions entry, and only that", async () => {
        const run = await runProgram({ computeState: fakeState, config: stackConfig({ intentions: [] }) });
        assert.deepEqual(
            configEntries(run)
                .map((e) => e.name)
                .sort(),
            ["consul-proxy-defaults-global", "consul-service-resolver-web"],
        );
        assert.deepEqual(sweepOf(run)?.inputs.keep, []);
    });

    test("without the mesh: no Envoy, gateway, config entry or mesh.hcl, and the instances on their own addresses as before", async () => {
        const run = await runProgram({ computeState: fakeState, config: meshlessConfig() });
        const containers = ofType(run, T.container);
        assert.deepEqual(
            containers.filter((c) => /-(sidecar|mesh-gateway)$/.test(String(c.inputs.name))).map((c) => c.inputs.name),
            [],
        );
        assert.deepEqual(
            ofType(run, T.image)
                .map((i) => i.inputs.name)
                .sort(),
            [
                "consul-multi-dc/demo-web:1.0",
                "consul-multi-dc/demo-web:1.0",
                "hashicorp/consul:1.22.7",
                "hashicorp/consul:1.22.7",
            ],
            "no Envoy image",
        );
        for (const agent of agents(run)) {
            assert.ok(
                !uploads(agent).some((u) => u.file.endsWith("/mesh.hcl")),
                `${agent.inputs.name} runs without Connect`,
            );
        }
        assert.deepEqual(configEntries(run), []);
        assert.equal(sweepOf(run), undefined, "no sweep");
        assert.ok(!ofType(run, T.uuid).some((u) => u.name.includes("mesh-gateway")), "no token for a mesh gateway");
        const web = named(run, T.container, "dc1-web-2");
        assert.deepEqual(
            [web.inputs.hostname, web.inputs.networkMode, web.inputs.networksAdvanced, web.inputs.command],
            [
                "dc1-web-2",
                undefined,
                [{ name: "dc1-lan", ipv4Address: "10.201.1.202", aliases: ["dc1-web-2"] }],
                ["httpd", "-f", "-p", "8080", "-h", "/www"],
            ],
        );
        assert.deepEqual(
            instances(run)
                .map((c) => c.inputs.name)
                .sort(),
            ["dc1-web-1", "dc1-web-2", "dc2-web-1"],
        );
        const defs = JSON.parse(upload(named(run, T.container, "dc1-client1"), "services.json").content as string)
            .services as Record<string, any>[];
        assert.deepEqual(
            defs.map((d) => [d.id, d.check.http, d.connect]),
            [
                ["dc1-web-1", "http://10.201.1.201:8080/health", undefined],
                ["dc1-web-2", "http://10.201.1.202:8080/health", undefined],
            ],
        );
        assert.equal(await outputValue(run.outputs.meshDemoUrl), undefined);
    });
});

describe("what runs, with the mesh's gateways on the WAN network", () => {
    test("a running mesh's gateways are not taken for servers of a removed datacenter", () => {
        const model = devModel();
        const at = (name: string, address: string) => ({ name, ipv4Address: `${address}/24` });
        const lans = Object.fromEntries(
            model.datacenters.map((dc) => [
                dc.name,
                {
                    ipamConfigs: [{ subnet: dc.subnet.text }],
                    options: {},
                    containers: [
                        ...[...dc.servers, ...dc.clients].map((a) => at(a.name, a.lanAddress)),
                        ...(dc.meshGateway ? [at(dc.meshGateway.id, dc.meshGateway.lanAddress)] : []),
                    ],
                },
            ]),
        );
        const wan = {
            ipamConfigs: [{ subnet: "10.201.0.0/24" }],
            containers: model.datacenters.flatMap((dc) => [
                ...dc.servers.map((s) => at(s.name, s.wanAddress as string)),
                ...(dc.meshGateway ? [at(dc.meshGateway.id, dc.meshGateway.wan.address)] : []),
            ]),
        };
        const shape = runningShape(lans, wan);
        assert.deepEqual(shape?.unknownServers, []);
        assert.deepEqual(shapeChangeProblems(shape, model), { problems: [], warnings: [] });
    });
});
