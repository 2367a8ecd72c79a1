// A call to a datacenter's published HTTPS API, trusting the stack's CA, with a token in its header (this
// process's memory only, never a command line).
import * as https from "node:https";

export interface Answer {
    readonly status: number;
    readonly body: string;
}

/** Rejects when nothing answers (the error's `code` says why: ECONNREFUSED, ETIMEDOUT...). */
export function consulHttp(
    address: string,
    ca: string,
    request: {
        readonly path: string;
        readonly method?: string;
        readonly token?: string;
        readonly body?: string;
        readonly timeoutMs?: number;
    },
): Promise<Answer> {
    const [host, port] = address.split(":");
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host,
                port: Number(port),
                path: request.path,
                method: request.method ?? "GET",
                ca,
                agent: false,
                timeout: request.timeoutMs ?? 5000,
                headers: request.token ? { "X-Consul-Token": request.token } : {},
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8").on("data", (d: string) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            },
        );
        req.on("timeout", () =>
            req.destroy(
                Object.assign(new Error(`no answer from https://${address} within ${request.timeoutMs ?? 5000} ms`), {
                    code: "ETIMEDOUT",
                }),
            ),
        );
        req.on("error", reject);
        req.end(request.body);
    });
}
