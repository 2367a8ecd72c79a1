// The default stack's demo services under mocks: the instances' containers, and the client agents that
// register them.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { agents, instances, labelsOf, named, T, type Upload, upload, uploads } from "../support/declared";
import { devStackRun, fakeSecretUuid } from "../support/fake-state";
import { type ProgramRun, unwrapSecret } from "../support/program";

describe("default stack (Pulumi.dev.yaml)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await devStackRun();
    });

    test("each demo instance is a container of the demo image in its sidecar's network namespace, which holds its fixed LAN address; it serves its page and health path", () => {
        const byName = Object.fromEntries(instances(run).map((c) => [c.inputs.name as string, c]));
        assert.deepEqual(Object.keys(byName).sort(), ["dc1-frontend-1", "dc1-web-1", "dc1-web-2", "dc2-web-1"]);
        const addresses = Object.fromEntries(
            Object.entries(byName).map(([n, c]) => {
                // In the mesh the sidecar holds the instance's address, and the instance shares its network.
                const sidecar = named(run, T.container, `${n}-sidecar`);
                assert.equal(c.inputs.networksAdvanced, undefined, `${n} joins no network of its own`);
                assert.equal(c.inputs.networkMode, `container:${sidecar.name}-id`, n);
                return [n, (sidecar.inputs.networksAdvanced as { ipv4Address: string }[])[0].ipv4Address];
            }),
        );
        assert.deepEqual(addresses, {
            "dc1-web-1": "10.201.1.201",
            "dc1-web-2": "10.201.1.202",
            "dc1-frontend-1": "10.201.1.203",
            "dc2-web-1": "10.201.2.201",
        });
        const web = byName["dc1-web-2"];
        assert.equal(web.inputs.image, "sha256:consul-dc1-demo-image");
        assert.deepEqual(
            [web.inputs.entrypoints, web.inputs.command, web.inputs.user],
            [["/bin/busybox"], ["httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"], "nobody"],
            "it listens on its loopback only, where its sidecar reaches it",
        );
        const files = Object.fromEntries((web.inputs.uploads as Upload[]).map((u) => [u.file, u.content]));
        assert.deepEqual(JSON.parse(files["/www/index.html"] as string), {
            service: "web",
            instance: "dc1-web-2",
            datacenter: "dc1",
        });
        assert.equal(files["/www/health"], "ok\n");
        assert.deepEqual((web.inputs.healthcheck as { tests: string[] }).tests, [
            "CMD-SHELL",
            "wget -q -O /dev/null http://127.0.0.1:8080/health",
        ]);
        assert.equal(web.inputs.wait, undefined, "its datacenter's readiness step waits for it");
        for (const c of Object.values(byName)) {
            assert.deepEqual(c.inputs.ports ?? [], [], `${c.inputs.name} publishes nothing itself`);
        }
        for (const n of ["dc1-web-1", "dc1-web-2", "dc2-web-1"]) {
            assert.deepEqual(
                named(run, T.container, `${n}-sidecar`).inputs.ports,
                [],
                "web's sidecars publish nothing: clients find web through Consul",
            );
        }
    });

    test("each DC's client registers its instances from services.json, with the service's token, as a secret upload", () => {
        const client = named(run, T.container, "dc1-client1");
        const defs = JSON.parse(upload(client, "services.json").content as string).services as Record<string, any>[];
        assert.deepEqual(
            defs.map((d) => `${d.id} ${d.name} ${d.address}:${d.port} ${d.tags?.join(",") ?? "(no tags)"}`),
            [
                "dc1-web-1 web 10.201.1.201:8080 demo,v1",
                "dc1-web-2 web 10.201.1.202:8080 demo,v1",
                "dc1-frontend-1 frontend 10.201.1.203:8080 demo",
                "dc1-mesh-gateway mesh-gateway 10.201.1.254:8443 (no tags)",
            ],
        );
        // In the mesh the agent checks the instance through its sidecar's exposed check path (mesh.test.ts).
        assert.deepEqual(defs[0].check, {
            id: "dc1-web-1-http",
            name: "HTTP /health on dc1-web-1",
            http: "http://10.201.1.201:21500/health",
            interval: "2s",
            timeout: "2s",
        });
        const tokenOf = (service: string) => fakeSecretUuid(`consul-service-${service}-token-secret`);
        assert.deepEqual(
            defs.map((d) => d.token),
            [tokenOf("web"), tokenOf("web"), tokenOf("frontend"), tokenOf("mesh-gateway")],
            "each registered with its own service's token",
        );
        assert.ok(unwrapSecret(client.inputs.uploads).secret, "the file holds a token, so the uploads are secret");
        const dc2 = JSON.parse(
            upload(named(run, T.container, "dc2-client1"), "services.json").content as string,
        ).services;
        assert.deepEqual(
            dc2.map((d: { id: string }) => d.id),
            ["dc2-web-1", "dc2-mesh-gateway"],
        );
        for (const server of agents(run).filter((c) => labelsOf(c)["consul.role"] === "server")) {
            assert.ok(
                !uploads(server).some((u) => u.file.endsWith("services.json")),
                `${server.inputs.name} registers no service`,
            );
        }
    });
});
