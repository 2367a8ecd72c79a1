// The mesh's figures for the benchmark: from the user's command to the first call with frontend's mesh identity
// answered by web in dc2 through both mesh gateways; each Envoy's memory; and the failover window of
// `npm run demo:failover -- --mesh`, measured the same way.
import type { StackModel } from "../components/model/stack-model";
import { callUntil, lastAnsweredBy, summarize } from "../scripts/mesh-failover";
import { dockerOk } from "../test/support/docker";
import type { Memory } from "./milestones";
import { memoryMiB } from "./milestones";

export interface MeshFigures {
    /** Epoch ms of the first cross-datacenter call answered through the gateways. */
    readonly crossDcAt?: number;
    /** Each Envoy's memory, by container. */
    readonly envoyMemory: Record<string, Memory>;
    /** From the first failed call to the last one before dc2 answered 20 in a row (0 when one failed, or none). */
    readonly failoverWindowMs?: number;
    /** How many calls failed in that window. */
    readonly failoverFailed?: number;
}

/** Polls `probe` every 100 ms until it holds (its epoch ms), `stop` says so, or `timeoutMs` pass. */
export async function firstTrue(
    probe: () => Promise<boolean>,
    timeoutMs: number,
    stop: () => boolean,
): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !stop()) {
        if (await probe().catch(() => false)) return Date.now();
        await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
}

/**
 * After convergence: each Envoy's memory, then the failover window through `url` while dc1's instances of the
 * upstream are stopped (started again however it ends).
 */
export async function meshAfterUp(model: StackModel, url: string): Promise<Omit<MeshFigures, "crossDcAt">> {
    const [dc1] = model.datacenters;
    const envoys = model.datacenters.flatMap((dc) => [
        ...dc.instances.flatMap((i) => (i.sidecar ? [i.sidecar.container] : [])),
        ...(dc.meshGateway ? [dc.meshGateway.id] : []),
    ]);
    const envoyMemory = await memoryMiB(envoys);
    const upstream = dc1.instances.find((i) => i.sidecar?.upstream)?.sidecar?.upstream?.service;
    const stopped = dc1.instances.filter((i) => i.service === upstream).map((i) => i.id);
    if (
        stopped.length === 0 ||
        !(await callUntil(
            url,
            lastAnsweredBy(5, (d) => d === dc1.name),
            60,
        ))
    ) {
        return { envoyMemory };
    }
    await dockerOk(["stop", "--time", "0", ...stopped]);
    try {
        const over = await callUntil(
            url,
            lastAnsweredBy(20, (d) => d !== dc1.name),
            60,
        );
        const summary = over ? summarize(over) : undefined;
        return {
            envoyMemory,
            ...(summary ? { failoverWindowMs: summary.windowMs, failoverFailed: summary.failed } : {}),
        };
    } finally {
        await dockerOk(["start", ...stopped]);
    }
}
