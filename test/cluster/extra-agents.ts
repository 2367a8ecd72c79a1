// Extra agents the probes start on dc1's LAN beside the stack's own, to see whom dc1 lets join (the gossip
// and TLS tests); each test removes its own, and the tier's `after` whatever a failure left.

import { copyFiles, docker, dockerOk, exec } from "../support/docker";
import { api } from "./consul-cli";
import type { Cluster } from "./state";
import { eventually } from "./wait";

/** A file an extra agent starts with, put where the stack's uploads go. */
export type AgentFile = { file: string; content: Buffer };

const extraAgents: string[] = [];

const aliveInDc1 = async (c: Cluster, name: string) =>
    (await c.consul.members("dc1-server1")).some((m) => m.node === name && m.status === "alive");

/** Starts an extra agent on dc1's LAN with the given files; returns whether dc1's servers see it alive. */
export async function extraAgentJoins(
    c: Cluster,
    name: string,
    address: string,
    args: string[],
    uploads: AgentFile[],
): Promise<boolean> {
    const image = (await dockerOk(["inspect", "--format", "{{.Image}}", "dc1-client1"])).trim();
    extraAgents.push(name);
    await dockerOk([
        "create",
        "--name",
        name,
        "--user",
        "consul",
        "--network",
        "dc1-lan",
        "--ip",
        address,
        "--entrypoint",
        "/bin/consul",
        image,
        "agent",
        "-config-dir=/consul/config",
        ...args,
    ]);
    await copyFiles(name, uploads);
    await dockerOk(["start", name]);
    const joined = await eventually(`${name} alive in dc1`, 12, async () =>
        (await aliveInDc1(c, name)) ? true : undefined,
    ).catch(() => false);
    // Asked once more outside `eventually`, which retries through errors: a failing `consul members`
    // fails the test instead of reading as a refusal.
    return joined || aliveInDc1(c, name);
}

/** Stops and removes the extra agents, and makes dc1 forget them. */
export async function removeExtraAgents(c: Cluster): Promise<void> {
    for (const name of extraAgents.splice(0)) {
        // A graceful stop makes an agent that joined leave; then dc1 forgets it, back to its 4 nodes.
        await docker(["stop", "--time", "10", name]);
        await docker(["rm", "--force", "--volumes", name]);
        await exec("dc1-server1", ["consul", "force-leave", "-prune", name], { CONSUL_HTTP_TOKEN: c.token });
        await api(c.httpAddrs.dc1, "/v1/catalog/deregister", {
            ca: c.ca,
            token: c.token,
            method: "PUT",
            body: JSON.stringify({ Node: name }),
        });
    }
}

/** The containers of extra agents a failed test left, removed without asking the cluster anything. */
export async function removeLeftoverAgents(): Promise<void> {
    for (const name of extraAgents) {
        await docker(["rm", "--force", "--volumes", name]);
    }
}
