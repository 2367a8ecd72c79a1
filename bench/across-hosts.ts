// The benchmark's federation across Docker hosts: dc1 on this machine's engine, dc2 and dc3 on
// scripts/test-hosts.sh's hosts. Timed from the start of `pulumi up`, as the user waits: when a key
// written through dc1's published API reads back through dc2's and dc3's, on their hosts' addresses.
import type { PulumiCommand } from "@pulumi/pulumi/automation";
import { api } from "../test/cluster/consul-cli";
import { aclTokensIn } from "../test/support/acl-tokens";
import { fileIn } from "../test/support/docker";
import { createStack, removeStack } from "../test/support/engine";
import { leftovers, tearDown } from "../test/support/teardown";
import { acrossHostsPrefix, acrossHostsSettings, engineOf, type TestHosts } from "../test/support/test-hosts";
import { memoryMiB } from "./milestones";

export interface HostsRun {
    readonly upMs: number;
    /** From the start of `pulumi up`. */
    readonly crossDcKvMs: number;
    /** RSS of the agents on each datacenter's host, MiB. */
    readonly rssByHost: Record<string, number>;
}

const stackName = "bench-hosts";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One `pulumi up` and destroy of the stack across hosts. */
export async function acrossHostsRun(pulumi: PulumiCommand, hosts: TestHosts): Promise<HostsRun> {
    const engines: Record<string, string[]> = { dc1: [], dc2: engineOf(hosts.hosts[0]), dc3: engineOf(hosts.hosts[1]) };
    const addr = {
        dc1: "127.0.0.1:8500",
        dc2: `${hosts.hosts[0].address}:8500`,
        dc3: `${hosts.hosts[1].address}:8500`,
    };
    await tearDown(pulumi, stackName, Object.values(engines));
    const stack = await createStack(pulumi, stackName, acrossHostsSettings(hosts));
    let done = false;
    const t0 = Date.now();
    const crossDcKv = (async () => {
        while (!done) {
            try {
                // The management token and the CA as the agents hold them: the outputs come only when up returns.
                const token = (await aclTokensIn(`${acrossHostsPrefix}dc1-server1`)).initial_management as string;
                const ca = (await fileIn(`${acrossHostsPrefix}dc1-client1`, "/consul/tls/ca.pem")).toString();
                const stamp = String(Date.now());
                const put = await api(addr.dc1, "/v1/kv/bench/hosts", {
                    ca,
                    token,
                    method: "PUT",
                    body: stamp,
                    timeoutMs: 2000,
                });
                const read = (through: string) =>
                    api(through, "/v1/kv/bench/hosts?dc=dc1&raw", { ca, token, timeoutMs: 2000 });
                if (
                    put.status === 200 &&
                    (await Promise.all([read(addr.dc2), read(addr.dc3)])).every(
                        (r) => r.status === 200 && r.body === stamp,
                    )
                ) {
                    return Date.now() - t0;
                }
            } catch {
                // not there yet
            }
            await sleep(100);
        }
        return undefined;
    })();
    // Until `pulumi up` prints its last line: the Automation API then reads the outputs, which a user's command does not.
    let lastOutput = t0;
    const up = await stack.up({ onOutput: () => (lastOutput = Date.now()) });
    const upMs = lastOutput - t0;
    if (up.summary.result !== "succeeded") throw new Error(`pulumi up across hosts: ${up.summary.result}`);
    const timeout = setTimeout(() => (done = true), 120_000);
    const crossDcKvMs = await crossDcKv;
    clearTimeout(timeout);
    done = true;
    if (crossDcKvMs === undefined)
        throw new Error(
            "across hosts: dc1's key never read back through dc2 and dc3 within 120 s of pulumi up returning",
        );
    const rssByHost: Record<string, number> = {};
    for (const [dc, engine] of Object.entries(engines)) {
        const servers = dc === "dc1" ? [1, 2, 3] : [1];
        const agents = [
            ...servers.map((n) => `${acrossHostsPrefix}${dc}-server${n}`),
            `${acrossHostsPrefix}${dc}-client1`,
        ];
        const memory = await memoryMiB(agents, engine);
        rssByHost[dc] = Math.round(Object.values(memory).reduce((a, m) => a + m.rss, 0));
    }
    await stack.destroy();
    await removeStack(stack);
    const left = (await Promise.all(Object.values(engines).map((e) => leftovers(stackName, e)))).flat();
    if (left.length > 0) throw new Error(`pulumi destroy across hosts left ${left.join(", ")}`);
    return { upMs, crossDcKvMs, rssByHost };
}
