// A stack's config (Pulumi.yaml defaults and Pulumi.<stack>.yaml) as compileStack reads it, and its model:
// the dev stack's for the pure tests, any stack's for the benchmark.
import assert from "node:assert/strict";
import { compileStack } from "../../components/model/compile";
import { ConfigProblems, type StackSettings } from "../../components/model/settings";
import type { StackModel } from "../../components/model/stack-model";
import { readBaseConfig, readNamedFile } from "../../components/resources/stack-files";
import { stackConfig } from "../../scripts/stack-config";
import { meshlessDatacenters, projectRoot, stackName } from "./program";

/** A stack's settings, as the program hands them to compileStack, with `overrides` (config keys as in the stack file) on top. */
export function stackSettings(stack: string, overrides: Record<string, unknown> = {}): StackSettings {
    const config = stackConfig(stack, overrides) as Record<string, unknown> & StackSettings;
    return {
        ...config,
        namePrefix: (config.namePrefix as string | undefined) ?? "",
        kvSeed: readNamedFile(config.kvSeed as unknown as string, projectRoot),
        baseConfig: readBaseConfig(config.baseConfigDir as unknown as string, projectRoot),
    };
}

/** Base config files as compileStack takes them: each file's text by name. */
export const baseFiles = { "common.hcl": "# common", "server.hcl": "# server", "client.hcl": "# client" };

/** Two datacenters on one host, written out in full (no file read), with `over` on top. */
export const smallSettings = (over: Partial<StackSettings> = {}): StackSettings => ({
    image: "hashicorp/consul:1.22.7",
    demoImage: "consul-multi-dc/demo-web:1.0",
    envoyImage: "consul-multi-dc/envoy:1.36.2-consul1.22.7",
    datacenters: [
        {
            name: "dc1",
            servers: 3,
            clients: 1,
            subnet: "10.201.1.0/24",
            httpPort: 8500,
            dnsPort: 8600,
            services: [{ name: "web", port: 8080, instances: 2 }],
        },
        { name: "dc2", servers: 1, clients: 0, subnet: "10.201.2.0/24", httpPort: 8501, dnsPort: 8601 },
    ],
    wanSubnet: "10.201.0.0/24",
    publishAddress: "127.0.0.1",
    namePrefix: "",
    keepData: false,
    dnsAnonymousRead: true,
    failoverQueries: true,
    mesh: false,
    meshGateways: true,
    intentions: [],
    kvSeed: { path: "seed.json", text: '{"app/config": "x"}' },
    baseConfig: { dir: "consul-config", files: baseFiles },
    ...over,
});

/** The dev stack's settings, with `overrides` on top. */
export const devSettings = (overrides: Record<string, unknown> = {}): StackSettings =>
    stackSettings(stackName, overrides);

export function devModel(overrides: Record<string, unknown> = {}): StackModel {
    return compileStack(devSettings(overrides));
}

/** The dev stack's settings without the service mesh (program.ts's meshlessConfig), with `overrides` on top. */
export const meshlessSettings = (overrides: Record<string, unknown> = {}): StackSettings =>
    devSettings({ mesh: false, intentions: [], datacenters: meshlessDatacenters(), ...overrides });

/** Every problem compileStack finds in `settings`; fails when it accepts them. */
export function problemsOf(settings: StackSettings): string[] {
    try {
        compileStack(settings);
    } catch (e) {
        assert.ok(e instanceof ConfigProblems, String(e));
        return [...e.problems];
    }
    assert.fail("compileStack accepted the config");
}

/** dc3 as the peering tier has it: a cluster of its own, with one server and one client, that peers with dc1. */
export const peeringDc3 = {
    name: "dc3",
    federation: "peering",
    servers: 1,
    clients: 1,
    subnet: "10.201.3.0/24",
    httpPort: 8502,
    dnsPort: 8602,
} as const;
