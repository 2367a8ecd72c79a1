// The readiness step: waits, inside `pulumi up`, until a set of containers reports healthy to Docker.
//
// The agents' containers do not wait inside their own create (Docker provider `wait`). An agent is healthy
// only once its datacenter has formed, so if each create waited, `pulumi up` would hold one engine operation
// per agent, and with more agents than `--parallel` the operations still queued could be the very servers the
// others wait for. One step per datacenter waits instead, after every container it needs has been created, so
// a plain `pulumi up` works at any --parallel and still returns only once every agent is healthy. A rolling
// change uses the same step per server, so the next server goes only once the previous one is back.
import * as pulumi from "@pulumi/pulumi";
import { type EngineAddress, engineGet } from "./docker-engine-api";

interface WatchedContainer {
    readonly name: string;
    /** Changes when the container is replaced: the step then waits again. */
    readonly id: string;
}

interface HealthyInputs {
    readonly host: EngineAddress;
    readonly containers: readonly WatchedContainer[];
    /** False: nothing to wait for now (a server of a datacenter that is only forming: its datacenter's step waits). */
    readonly wait: boolean;
    readonly timeoutSeconds: number;
}

interface ContainerHealth {
    readonly status: string;
    /** The last healthcheck's output, or why there is none. */
    readonly detail: string;
}

async function healthOf(host: EngineAddress, c: WatchedContainer): Promise<ContainerHealth> {
    const res = await engineGet(host, `/containers/${encodeURIComponent(c.id)}/json`);
    if (res.status === 404) {
        return { status: "missing", detail: "no such container" };
    }
    if (res.status !== 200) {
        return { status: "unknown", detail: `the Docker engine answered ${res.status} ${res.body.trim()}` };
    }
    const state = (
        JSON.parse(res.body) as { State: { Status: string; Health?: { Status: string; Log?: { Output: string }[] } } }
    ).State;
    const last = state.Health?.Log?.at(-1)?.Output.trim();
    return state.Health
        ? { status: state.Health.Status, detail: `${state.Status}${last ? `; last check: ${last}` : ""}` }
        : { status: "no healthcheck", detail: state.Status };
}

/** Polls every quarter second until every container is healthy; fails after the timeout, naming each that is not. */
async function waitHealthy(inputs: HealthyInputs): Promise<void> {
    if (!inputs.wait) {
        return;
    }
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let pending = [...inputs.containers];
    for (;;) {
        const health = await Promise.all(pending.map((c) => healthOf(inputs.host, c)));
        const unhealthy = pending.map((c, i) => ({ c, h: health[i] })).filter(({ h }) => h.status !== "healthy");
        if (unhealthy.length === 0) {
            return;
        }
        if (Date.now() > deadline) {
            const lines = unhealthy.map(({ c, h }) => `  - ${c.name}: ${h.status} (${h.detail})`);
            throw new Error(
                `not healthy within ${inputs.timeoutSeconds} s (see \`docker logs NAME\`):\n${lines.join("\n")}`,
            );
        }
        pending = unhealthy.map(({ c }) => c);
        await new Promise((r) => setTimeout(r, 250));
    }
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HealthyInputs) {
        await waitHealthy(inputs);
        return { id: inputs.containers.map((c) => c.name).join(","), outs: inputs };
    },
    // Whether to wait is not a change: a server's step of a datacenter that formed on the last `pulumi up`
    // would otherwise update (and show in the plan) on the next one, with nothing replaced.
    async diff(_id: string, olds: HealthyInputs, news: HealthyInputs) {
        const watched = (i: HealthyInputs) => JSON.stringify([i.host, i.containers, i.timeoutSeconds]);
        return { changes: watched(olds) !== watched(news) };
    },
    async update(_id: string, _olds: HealthyInputs, news: HealthyInputs) {
        await waitHealthy(news);
        return { outs: news };
    },
};

export interface AgentsHealthyArgs {
    readonly host: EngineAddress;
    readonly containers: readonly { readonly name: pulumi.Input<string>; readonly id: pulumi.Input<string> }[];
    /** Whether to wait now; true unless set. */
    readonly wait?: pulumi.Input<boolean>;
    readonly timeoutSeconds: number;
}

export class AgentsHealthy extends pulumi.dynamic.Resource {
    constructor(name: string, args: AgentsHealthyArgs, opts: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, wait: args.wait ?? true }, opts);
    }
}
