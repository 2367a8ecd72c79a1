// The demo services model: checks with the config key named, fixed addresses, and the definitions a client loads.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Ipv4Cidr, parseCidr } from "../../components/model/cidr";
import { parseServices, type ServiceConfig, serviceInstances } from "../../components/model/services";
import { instancePages, serviceDefinitions } from "../../components/render/service-definitions";

/** The problems parseServices finds in `services` of a datacenter with `clients` clients. */
const serviceProblems = (services: unknown, clients: unknown, key: string) => {
    const problems: string[] = [];
    parseServices(services, clients, key, problems);
    return problems;
};

describe("parseServices", () => {
    const key = "datacenters[0].services";
    test("fills in the defaults: no tags, one instance, /health every 5 s", () => {
        const problems: string[] = [];
        assert.deepEqual(
            parseServices(
                [
                    { name: "web", port: 8080 },
                    { name: "api", port: 9090, tags: ["v1"], instances: 3, check: { intervalSeconds: 2 } },
                ],
                1,
                key,
                problems,
            ),
            [
                { name: "web", port: 8080, tags: [], instances: 1, check: { path: "/health", intervalSeconds: 5 } },
                { name: "api", port: 9090, tags: ["v1"], instances: 3, check: { path: "/health", intervalSeconds: 2 } },
            ],
        );
        assert.deepEqual(problems, []);
    });
    test("an unknown key of a service or of its check is named, with the keys allowed", () => {
        assert.deepEqual(
            serviceProblems([{ name: "web", prot: 8080, port: 8080, check: { path: "/", interval: 3 } }], 1, key),
            [
                `${key}[0].prot is not a key of a service; allowed: name, port, tags, instances, check, upstream, publishPort`,
                `${key}[0].check.interval is not a key of a service check; allowed: path, intervalSeconds`,
            ],
        );
        assert.deepEqual(serviceProblems(["web"], 1, key), [
            `${key}[0] must be a service: an object with name, port, tags, instances, check, upstream, publishPort, not "web"`,
        ]);
    });
    test("accepts no services, and a well-formed list", () => {
        assert.deepEqual(serviceProblems(undefined, 0, key), []);
        assert.deepEqual(
            serviceProblems(
                [
                    {
                        name: "web",
                        port: 8080,
                        tags: ["v1"],
                        instances: 2,
                        check: { path: "/health", intervalSeconds: 2 },
                    },
                ],
                1,
                key,
            ),
            [],
        );
    });
    test("names each problem with its key and what is allowed", () => {
        const problems = serviceProblems(
            [
                { name: "web", port: 8080 },
                { name: "web", port: 70000, tags: ["a b"], check: { path: "health", intervalSeconds: 0 } },
            ],
            1,
            key,
        );
        assert.deepEqual(problems, [
            `${key}[1].name "web" is already used by ${key}[0]; names must be unique in a datacenter`,
            `${key}[1].port must be a port number from 1024 to 65535 (instances run unprivileged), not 70000`,
            `${key}[1].tags must be a list of words of letters, digits, "_", "." and "-", not ["a b"]`,
            `${key}[1].check.path must be a URL path starting with "/", not "health"`,
            `${key}[1].check.intervalSeconds must be a whole number from 1 to 3600, not 0`,
        ]);
    });
    test("refuses more instances than a LAN has room for, and services without a client", () => {
        assert.match(
            serviceProblems(
                [
                    { name: "a", port: 2000, instances: 30 },
                    { name: "b", port: 2001, instances: 21 },
                ],
                1,
                key,
            ).join(),
            /asks for 51 instances; a datacenter has room for 50/,
        );
        assert.match(
            serviceProblems([{ name: "a", port: 2000 }], 0, key).join(),
            /needs a client agent to register on/,
        );
        assert.deepEqual(serviceProblems("web", 1, key), [`${key} must be a list of services, not "web"`]);
    });
});

describe("serviceInstances and serviceDefinitions", () => {
    const services: ServiceConfig[] = [
        { name: "web", port: 8080, tags: ["v1"], instances: 2, check: { path: "/health", intervalSeconds: 5 } },
        { name: "api", port: 9090, tags: [], instances: 1, check: { path: "/", intervalSeconds: 7 } },
    ];
    const instances = serviceInstances("dc1", parseCidr("10.201.1.0/24") as Ipv4Cidr, services, "lab-");
    test("instances take fixed addresses from .201 in config order, named from the DC and service", () => {
        assert.deepEqual(
            instances.map((i) => `${i.id} ${i.address}:${i.port} ${i.checkPath} ${i.checkIntervalSeconds}s`),
            [
                "lab-dc1-web-1 10.201.1.201:8080 /health 5s",
                "lab-dc1-web-2 10.201.1.202:8080 /health 5s",
                "lab-dc1-api-1 10.201.1.203:9090 / 7s",
            ],
        );
    });
    test("each instance is registered with its address, an HTTP check on it, and its service's token", () => {
        const defs = serviceDefinitions(instances, { web: "tw", api: "ta" }) as { services: Record<string, any>[] };
        assert.deepEqual(
            defs.services.map((d) => [d.name, d.token, d.check.http, d.meta.instance]),
            [
                ["web", "tw", "http://10.201.1.201:8080/health", "lab-dc1-web-1"],
                ["web", "tw", "http://10.201.1.202:8080/health", "lab-dc1-web-2"],
                ["api", "ta", "http://10.201.1.203:9090/", "lab-dc1-api-1"],
            ],
        );
    });
    test("an instance serves a page naming it and answers its check path", () => {
        assert.deepEqual(
            instancePages(instances[0]).map((p) => p.path),
            ["/index.html", "/health"],
        );
        assert.deepEqual(JSON.parse(instancePages(instances[0])[0].content), {
            service: "web",
            instance: "lab-dc1-web-1",
            datacenter: "dc1",
        });
        assert.deepEqual(
            instancePages(instances[2]).map((p) => p.path),
            ["/index.html"],
            "a check on / is answered by the page",
        );
    });
});
