// `npm run demo:failover -- --mesh`: traffic failover in the service mesh. Calls the stack's meshDemoUrl
// (frontend, which calls its upstream only through its Envoy sidecar) every 100 ms, stops the upstream's
// instances in the caller's datacenter, and prints the window of failed calls until the service-resolver's
// failover sends them to another datacenter through the mesh gateways; then starts them again and prints the
// way back. Every answer names the instance and datacenter that served it.
import * as https from "node:https";
import type { StackModel } from "../components/model/stack-model";

/** A call to a Consul API with a token: its status and body. */
export type ApiCall = (method: string, path: string, token?: string) => Promise<{ status: number; body: string }>;

interface Identity {
    readonly cert: string;
    readonly key: string;
    readonly roots: string;
    readonly trustDomain: string;
}

/**
 * A call along the path a caller's sidecar takes to `target` in another datacenter: TLS to the caller's
 * datacenter's mesh gateway (`gateway`, its LAN address) with the caller's leaf certificate and the target's SNI;
 * that gateway forwards it to the target datacenter's, which hands it to a sidecar of the target. Resolves true
 * once the target answers 200 from that datacenter. `api` is the caller's datacenter's API.
 */
export function crossDcCall(
    gateway: string,
    caller: string,
    target: { readonly service: string; readonly datacenter: string },
    api: ApiCall,
    token: () => Promise<string | undefined>,
): () => Promise<boolean> {
    let identity: Identity | undefined;
    return async () => {
        const t = await token();
        if (!t) return false;
        if (!identity) {
            const roots = await api("GET", "/v1/connect/ca/roots", t);
            const leaf = await api("GET", `/v1/agent/connect/ca/leaf/${caller}`, t);
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
        return mtlsGet(
            {
                host: gateway,
                port: 8443,
                servername: `${target.service}.default.${target.datacenter}.internal.${identity.trustDomain}`,
            },
            identity,
            2000,
        ).then(
            (res) => res.status === 200 && res.body.includes(`"datacenter":"${target.datacenter}"`),
            () => false,
        );
    };
}

/**
 * crossDcCall for a stack's model: the first datacenter's caller with an upstream (frontend in the dev stack) to the
 * second datacenter's first service, through the first's gateway; always false without a gateway or such services.
 */
export function crossDcProbe(
    model: StackModel,
    published: ApiCall,
    token: () => Promise<string | undefined>,
): () => Promise<boolean> {
    const [dc1, dc2] = model.datacenters;
    const caller = dc1.instances.find((i) => i.sidecar?.upstream)?.service;
    const target = dc2?.instances[0]?.service;
    if (!dc1.meshGateway || !caller || !target) return async () => false;
    return crossDcCall(dc1.meshGateway.lanAddress, caller, { service: target, datacenter: dc2.name }, published, token);
}

/**
 * GET / with a mesh identity: mutual TLS to `to`, trusting the Connect CA's roots. A mesh certificate names a
 * SPIFFE ID, not a host, so the chain to those roots is what is checked. Rejects on an error or after `timeoutMs`.
 */
export function mtlsGet(
    to: { readonly host: string; readonly port: number; readonly servername?: string },
    id: Pick<Identity, "cert" | "key" | "roots">,
    timeoutMs: number,
): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                ...to,
                path: "/",
                cert: id.cert,
                key: id.key,
                ca: id.roots,
                checkServerIdentity: () => undefined,
                timeout: timeoutMs,
                agent: false,
            },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
    });
}

/** One call through the mesh: when it was made, and who answered (nothing when it failed). */
export interface MeshCall {
    readonly at: number;
    readonly datacenter?: string;
    readonly instance?: string;
}

/** A call to the demo URL, with a 2 s limit: the answer's datacenter and instance, or nothing. */
export async function callMesh(url: string): Promise<MeshCall> {
    const at = Date.now();
    try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { datacenter?: string; instance?: string };
        return res.status === 200 && body.datacenter
            ? { at, datacenter: body.datacenter, instance: body.instance }
            : { at };
    } catch {
        return { at };
    }
}

/**
 * What the calls from `from` on say: the failed ones, the window from the first failure to the last (0 when none
 * failed), and how many answers each instance gave.
 */
export function summarize(calls: readonly MeshCall[]): {
    readonly failed: number;
    readonly windowMs: number;
    readonly answers: Readonly<Record<string, number>>;
} {
    const failures = calls.filter((c) => !c.datacenter);
    const answers: Record<string, number> = {};
    for (const c of calls) {
        if (c.instance) answers[c.instance] = (answers[c.instance] ?? 0) + 1;
    }
    const windowMs = failures.length > 0 ? failures[failures.length - 1].at - failures[0].at : 0;
    return { failed: failures.length, windowMs, answers };
}

/** Calls every 100 ms until `done` says so of the calls so far, or `seconds` pass (then undefined). */
export async function callUntil(
    url: string,
    done: (calls: readonly MeshCall[]) => boolean,
    seconds: number,
): Promise<MeshCall[] | undefined> {
    const calls: MeshCall[] = [];
    const began = Date.now();
    while (Date.now() - began < seconds * 1000) {
        calls.push(await callMesh(url));
        if (done(calls)) return calls;
        await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
}

/** The last `n` calls were all answered from datacenters `ok` accepts. */
export const lastAnsweredBy = (n: number, ok: (dc: string) => boolean) => (calls: readonly MeshCall[]) =>
    calls.length >= n && calls.slice(-n).every((c) => c.datacenter !== undefined && ok(c.datacenter));
