// The extra Docker hosts scripts/test-hosts.sh runs on this machine, each in its own network namespace,
// and a stack config that spreads the federation over them: dc1 on the local engine, dc2 and dc3 each
// on a test host over tcp:// with TLS. The cluster tier and the benchmark both deploy it.
import * as path from "node:path";
import YAML from "yaml";
import { devSettings } from "./engine";
import { run } from "./process";
import { projectRoot } from "./program";

export interface TestHost {
    readonly name: string;
    readonly address: string;
    /** tcp://ADDRESS:2376, as the stack reaches it. */
    readonly dockerHost: string;
    readonly certPath: string;
    /** The engine's unix socket: the tests reach it there even while the host's link is cut. */
    readonly socket: string;
}

export interface TestHosts {
    /** This machine's address on the test hosts' bridge. */
    readonly local: { readonly address: string };
    readonly hosts: readonly TestHost[];
}

export const testHostsScript = path.join(projectRoot, "scripts", "test-hosts.sh");

/** The test hosts as the script reports them; fails naming the script when they are not up. */
export async function testHosts(): Promise<TestHosts> {
    const env = await run("bash", [testHostsScript, "env"]);
    if (env.code !== 0) {
        throw new Error(
            `the test Docker hosts are not up: run scripts/test-hosts.sh up (or npm run prereqs)\n${env.stderr.trim()}`,
        );
    }
    return JSON.parse(env.stdout) as TestHosts;
}

/** docker's flags for a test host's engine. */
export const engineOf = (host: TestHost): string[] => ["-H", host.socket];

/** The name prefix of the stack across hosts, so that its containers never meet the dev stack's. */
export const acrossHostsPrefix = "xh-";

/** The dev stack's settings (YAML) with dc1 on this machine and dc2, dc3 each on a test host; with `peer`, dc4 too. */
export function acrossHostsSettings(hosts: TestHosts, options: { peer?: boolean } = {}): string {
    const settings = YAML.parse(devSettings());
    const config = settings.config as Record<string, unknown>;
    const [dc1, dc2] = config["consul-multi-dc:datacenters"] as Record<string, unknown>[];
    const onHost = (host: TestHost, name: string, n: number) => ({
        ...dc2,
        name,
        subnet: `10.202.${n}.0/24`,
        httpPort: 8500,
        dnsPort: 8600,
        dockerHost: host.dockerHost,
        dockerCertPath: host.certPath,
        hostAddress: host.address,
    });
    config["consul-multi-dc:datacenters"] = [
        { ...dc1, subnet: "10.202.1.0/24", hostAddress: hosts.local.address },
        onHost(hosts.hosts[0], "dc2", 2),
        onHost(hosts.hosts[1], "dc3", 3),
        // With `peer`, a cluster of its own beside dc3 on host C, peering with dc1 over the hosts' addresses.
        ...(options.peer
            ? [{ ...onHost(hosts.hosts[1], "dc4", 4), federation: "peering", httpPort: 8501, dnsPort: 8601 }]
            : []),
    ];
    config["consul-multi-dc:namePrefix"] = acrossHostsPrefix;
    config["consul-multi-dc:wanSubnet"] = "10.202.0.0/24";
    return `# Written by test/support/test-hosts.ts: the dev stack across scripts/test-hosts.sh's Docker hosts.\n${YAML.stringify(settings)}`;
}
