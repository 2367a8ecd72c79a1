// One HTTPS call to a datacenter's published Consul API, with TLS checked against the stack's CA. The
// dynamic resources (failover queries, peerings, exported services) make their changes through it: the engine
// serializes it with them, so it imports nothing at module level but types.
import type * as pulumi from "@pulumi/pulumi";

/** The args every such resource takes: the datacenter, its published API, and the token to call it with. */
export interface DatacenterApiArgs {
    readonly httpAddr: pulumi.Input<string>;
    readonly caPem: pulumi.Input<string>;
    /** Its cluster's management token. */
    readonly token: pulumi.Input<string>;
    readonly datacenter: string;
}

/** Where and as whom to call: host:port of the published HTTPS API, the CA that signed it, an ACL token. */
export interface ConsulEndpoint {
    readonly httpAddr: string;
    readonly caPem: string;
    /** None: the anonymous token. */
    readonly token?: string;
}

export interface ConsulAnswer {
    readonly status: number;
    readonly body: string;
}

/**
 * An answer that means "not yet", not "no": a datacenter that has just started (or restarted on kept data)
 * answers before its servers have a leader, or before a secondary has ACLs from the primary to resolve the
 * token with.
 */
export function notYet(res: ConsulAnswer): boolean {
    return (
        (res.status === 403 && /ACL system must be bootstrapped|ACL not found/.test(res.body)) ||
        (res.status === 500 && /No cluster leader/.test(res.body))
    );
}

/**
 * Resolves with the status and body, asking again every half second for up to a minute while the answer is
 * only "not yet"; rejects only when no answer arrives. The token never appears in an error.
 */
export async function consulApi(
    to: ConsulEndpoint,
    method: string,
    path: string,
    body?: string,
): Promise<ConsulAnswer> {
    const deadline = Date.now() + 60_000;
    for (;;) {
        const res = await consulCall(to, method, path, body);
        if (!notYet(res) || Date.now() > deadline) {
            return res;
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

/**
 * One HTTPS call, also the scripts' (scripts/stack-access.ts). Rejects when nothing answers within `timeoutMs`;
 * the error's `code` says why (ECONNREFUSED, ETIMEDOUT...).
 */
export async function consulCall(
    to: ConsulEndpoint,
    method: string,
    path: string,
    body?: string,
    timeoutMs = 15_000,
): Promise<ConsulAnswer> {
    const https = await import("node:https");
    const [host, port] = to.httpAddr.split(":");
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host,
                port: Number(port),
                path,
                method,
                ca: to.caPem,
                headers: to.token ? { "X-Consul-Token": to.token } : {},
                agent: false,
                timeout: timeoutMs,
            },
            (res) => {
                let text = "";
                res.on("data", (d) => (text += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
            },
        );
        req.on("timeout", () =>
            req.destroy(
                Object.assign(new Error(`no answer from https://${to.httpAddr} within ${timeoutMs} ms`), {
                    code: "ETIMEDOUT",
                }),
            ),
        );
        req.on("error", reject);
        req.end(body);
    });
}
