// The mesh's figures for the benchmark: from the user's command to the first call with frontend's mesh identity
// answered by web in dc2 through both mesh gateways; each Envoy's memory; and the failover window of
// `npm run demo:failover -- --mesh`, measured the same way.
import * as https from "node:https";
import type { StackModel } from "../components/model/stack-model";
import { callUntil, lastAnsweredBy, summarize } from "../scripts/mesh-failover";
import { dockerOk } from "../test/support/docker";
import type { AgentCall, Memory } from "./milestones";
import { memoryMiB } from "./milestones";

export interface MeshFigures {
    /** Epoch ms of the first cross-datacenter call answered through the gateways. */
    readonly crossDcAt?: number;
    /** Each Envoy's memory, by container. */
    readonly envoyMemory: Record<string, Memory>;
    /** From the first failed call to the last one before dc2 answered 20 in a row. */
    readonly failoverWindowMs?: number;
}

interface Identity {
    readonly cert: string;
    readonly key: string;
    readonly roots: string;
    readonly trustDomain: string;
}

/**
 * A probe of the path frontend's sidecar takes on failover: TLS to dc1's mesh gateway with frontend's leaf
 * certificate and the SNI of web in dc2; dc1's gateway forwards it to dc2's, which hands it to a web sidecar
 * there. True once web in dc2 answers 200.
 */
export function crossDcProbe(
    model: StackModel,
    published: AgentCall,
    token: () => Promise<string | undefined>,
): () => Promise<boolean> {
    const [dc1, dc2] = model.datacenters;
    const gateway = dc1.meshGateway;
    const caller = dc1.instances.find((i) => i.sidecar?.upstream)?.service;
    const target = dc2?.instances[0]?.service;
    let identity: Identity | undefined;
    return async () => {
        if (!gateway || !caller || !target) return false;
        const t = await token();
        if (!t) return false;
        if (!identity) {
            const roots = await published("GET", "/v1/connect/ca/roots", t);
            const leaf = await published("GET", `/v1/agent/connect/ca/leaf/${caller}`, t);
            if (roots.status !== 200 || leaf.status !== 200) return false;
            const r = JSON.parse(roots.body) as { TrustDomain: string; Roots: { RootCert: string }[] };
            const l = JSON.parse(leaf.body) as { CertPEM: string; PrivateKeyPEM: string };
            identity = {
                cert: l.CertPEM,
                key: l.PrivateKeyPEM,
                roots: r.Roots.map((x) => x.RootCert).join("\n"),
                trustDomain: r.TrustDomain,
            };
        }
        const id = identity;
        return new Promise((resolve) => {
            const req = https.request(
                {
                    host: gateway.lanAddress,
                    port: 8443,
                    path: "/",
                    servername: `${target}.default.${dc2.name}.internal.${id.trustDomain}`,
                    cert: id.cert,
                    key: id.key,
                    ca: id.roots,
                    // A mesh certificate names a SPIFFE ID, not a host.
                    checkServerIdentity: () => undefined,
                    timeout: 2000,
                    agent: false,
                },
                (res) => {
                    let body = "";
                    res.on("data", (d) => (body += d));
                    res.on("end", () => resolve(res.statusCode === 200 && body.includes(`"datacenter":"${dc2.name}"`)));
                },
            );
            req.on("timeout", () => req.destroy());
            req.on("error", () => resolve(false));
            req.end();
        });
    };
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
        return { envoyMemory, ...(over ? { failoverWindowMs: summarize(over).windowMs } : {}) };
    } finally {
        await dockerOk(["start", ...stopped]);
    }
}
