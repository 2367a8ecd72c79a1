// The example app: how an application uses the cluster. It talks only to its own datacenter's local
// agent (the published HTTPS address), trusts the stack's CA, and uses its own least-privilege token;
// all three come from the stack outputs. It discovers the demo service in every datacenter, reads its
// settings from KV, then watches one key and prints each change. With --peer it lists instead what a
// peered cluster exports, through the same local agent.
//
//   npm run example -- [--dc dc1] [--service web] [--watch KEY] [--once] [--stack NAME]
//   npm run example -- --peer dc3 [--stack NAME]
//
// CONSUL_HTTP_TOKEN, when set, replaces the appToken output (as for the consul CLI).
import { execFileSync } from "node:child_process";
import * as https from "node:https";
import * as path from "node:path";
import { parseArgs } from "node:util";
import Consul from "consul";

class UsageError extends Error {}

interface Options {
    dc?: string;
    service?: string;
    watch?: string;
    once: boolean;
    stack?: string;
    peer?: string;
}

function optionsFrom(argv: string[]): Options {
    try {
        const { values } = parseArgs({
            args: argv,
            options: {
                dc: { type: "string" }, service: { type: "string" }, watch: { type: "string" }, once: { type: "boolean", default: false },
                stack: { type: "string" }, peer: { type: "string" },
            },
        });
        return values as Options;
    } catch (e) {
        throw new UsageError(`${(e as Error).message}; use --dc NAME, --service NAME, --watch KEY, --once, --stack NAME, --peer NAME`);
    }
}

interface Outputs {
    httpAddrs: Record<string, string>;
    caCertPem: string;
    appToken: string;
    appKvPrefix: string;
    services: Record<string, string[]>;
    primaryDatacenter: string;
    /** Absent from stacks deployed before peering existed. */
    peerings?: Record<string, Record<string, string>>;
}

/** The stack outputs, through the project's pulumi (scripts/pulumi.sh: npm start's backend, or yours). */
function stackOutputs(stack?: string): Outputs {
    const root = path.resolve(__dirname, "..");
    let text: string;
    try {
        text = execFileSync("bash", [path.join(root, "scripts", "pulumi.sh"), "stack", "output", "--json", "--show-secrets", ...(stack ? ["--stack", stack] : [])], {
            cwd: root,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
    } catch (e) {
        const stderr = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split("\n").pop();
        throw new UsageError(`cannot read the stack outputs (${stderr}); run \`pulumi up\` first, or pass --stack NAME`);
    }
    const outputs = JSON.parse(text) as Partial<Outputs>;
    for (const key of ["httpAddrs", "caCertPem", "appToken", "appKvPrefix", "services", "primaryDatacenter"] as const) {
        if (outputs[key] === undefined) throw new UsageError(`the stack has no ${key} output; run \`pulumi up\` with this version of the project`);
    }
    return outputs as Outputs;
}

/** What went wrong, in the user's terms: no agent listening, or the agent refusing the token. */
function explain(err: unknown, address: string): Error {
    const e = err as { code?: string; statusCode?: number; response?: { statusCode?: number; body?: unknown }; message?: string };
    const status = e.statusCode ?? e.response?.statusCode;
    if (e.code === "ECONNREFUSED" || e.code === "ECONNRESET") {
        return new Error(`no Consul agent answers at https://${address} (${e.code}): is the cluster running? \`pulumi up\` starts it`);
    }
    if (status === 403) {
        return new Error(`the agent at https://${address} refused the token (403 ${String(e.response?.body ?? e.message).trim()}): use the stack's appToken output`);
    }
    return err instanceof Error ? err : new Error(String(err));
}

/**
 * The passing instances of `service` that `peer` exports, as the local agent imports them
 * (GET /v1/health/service/NAME?peer=PEER). The consul package has no `peer` option, so this one call is plain HTTPS.
 */
function peerInstances(address: string, agent: https.Agent, token: string, service: string, peer: string): Promise<string[]> {
    const [host, port] = address.split(":");
    const path = `/v1/health/service/${encodeURIComponent(service)}?peer=${encodeURIComponent(peer)}&passing=true`;
    return new Promise((resolve, reject) => {
        https.get({ host, port: Number(port), path, agent, headers: { "X-Consul-Token": token } }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => {
                if (res.statusCode !== 200) {
                    reject(Object.assign(new Error(body), { statusCode: res.statusCode, response: { statusCode: res.statusCode, body } }));
                    return;
                }
                const entries = JSON.parse(body) as { Service: { Address: string; Port: number } }[];
                resolve(entries.map((e) => `${e.Service.Address}:${e.Service.Port}`).sort());
            });
        }).on("error", reject);
    });
}

/** --peer: every demo service the peer runs, as its peering exports it to the first datacenter. */
async function listPeer(outputs: Outputs, options: Options, token: string): Promise<void> {
    const peer = options.peer as string;
    const peers = Object.keys(outputs.peerings ?? {});
    if (!peers.includes(peer)) {
        throw new UsageError(`--peer ${peer}: the stack has no peering datacenter ${peer}; ${peers.length > 0 ? `it has ${peers.join(", ")}` : "none of its datacenters has federation: peering"}`);
    }
    // Peering datacenters peer with the first datacenter, whose agents hold the imported services.
    const dc = outputs.primaryDatacenter;
    if (options.dc && options.dc !== dc) {
        throw new UsageError(`--dc ${options.dc}: ${peer} peers with ${dc}; leave --dc out, or pass --dc ${dc}`);
    }
    const address = outputs.httpAddrs[dc];
    const agent = new https.Agent({ ca: outputs.caCertPem });
    const services = options.service ? [options.service] : (outputs.services[peer] ?? []);
    if (services.length === 0) {
        throw new UsageError(`${peer} runs no demo service; pass --service NAME`);
    }
    console.log(`example-app: talking to the local agent of ${dc} at https://${address}, about its peer ${peer} (state ${JSON.stringify(outputs.peerings?.[peer])})`);
    try {
        for (const service of services) {
            const found = await peerInstances(address, agent, token, service, peer);
            console.log(`${service} in peer ${peer} (passing): ${found.length > 0 ? found.join(", ") : "none"}`);
        }
    } catch (e) {
        throw explain(e, address);
    } finally {
        agent.destroy();
    }
}

async function main(): Promise<void> {
    const options = optionsFrom(process.argv.slice(2));
    const outputs = stackOutputs(options.stack);
    if (options.peer !== undefined) {
        return listPeer(outputs, options, process.env.CONSUL_HTTP_TOKEN || outputs.appToken);
    }
    const datacenters = Object.keys(outputs.httpAddrs);
    const dc = options.dc ?? datacenters[0];
    const address = outputs.httpAddrs[dc];
    if (!address) {
        throw new UsageError(`--dc ${dc}: the stack has no datacenter ${dc}; it has ${datacenters.join(", ")}`);
    }
    const service = options.service ?? outputs.services[dc]?.[0];
    if (!service) {
        throw new UsageError(`${dc} runs no demo service; add one under datacenters[].services, or pass --service NAME`);
    }
    const watchKey = options.watch ?? `${outputs.appKvPrefix}config/greeting`;
    const kvDc = outputs.primaryDatacenter;
    const token = process.env.CONSUL_HTTP_TOKEN || outputs.appToken;
    const [host, port] = address.split(":");
    // The local agent only: every request, even for another datacenter, goes through it.
    const consul = new Consul({
        host,
        port: Number(port),
        secure: true,
        agent: new https.Agent({ ca: outputs.caCertPem, keepAlive: true }),
        defaults: { token },
    });

    try {
        console.log(`example-app: talking to the local agent of ${dc} at https://${address} (stack CA, ${process.env.CONSUL_HTTP_TOKEN ? "CONSUL_HTTP_TOKEN" : "appToken"})`);
        const known = await consul.catalog.datacenters();
        for (const other of [dc, ...known.filter((d: string) => d !== dc)]) {
            const entries = (await consul.health.service({ service, dc: other, passing: true })) as { Service: { Address: string; Port: number } }[];
            const found = entries.map((e) => `${e.Service.Address}:${e.Service.Port}`).sort();
            console.log(`${service} in ${other} (passing): ${found.length > 0 ? found.join(", ") : "none"}`);
        }
        // KV is per datacenter and the seed lives in the primary: the local agent forwards there.
        const settings = ((await consul.kv.get({ key: `${outputs.appKvPrefix}config/`, recurse: true, dc: kvDc })) ?? []) as { Key: string; Value: string | null }[];
        if (settings.length === 0) {
            throw new Error(`nothing under ${outputs.appKvPrefix}config/ in KV: the seed (consul-config/kv/) was not loaded, or this token may not read it`);
        }
        console.log(`settings from KV in ${kvDc} (${outputs.appKvPrefix}config/):`);
        for (const s of settings) {
            console.log(`  ${s.Key.slice(`${outputs.appKvPrefix}config/`.length)} = ${s.Value ?? ""}`);
        }
    } catch (e) {
        throw explain(e, address);
    }
    if (options.once) {
        consul.destroy();
        return;
    }

    console.log(`watching ${watchKey} in ${kvDc} (Ctrl-C to stop)`);
    const watch = consul.watch({ method: consul.kv.get, options: { key: watchKey, dc: kvDc }, backoffFactor: 100, backoffMax: 2000 });
    let first = true;
    watch.on("change", (data: { Value?: string | null } | undefined) => {
        const value = data?.Value ?? "(deleted)";
        console.log(first ? `${watchKey} = ${value}` : `${watchKey} changed: ${value}`);
        first = false;
    });
    watch.on("error", (e: unknown) => console.error(`example-app: ${explain(e, address).message}`));
    process.on("SIGINT", () => {
        watch.end();
        consul.destroy();
        process.exit(0);
    });
}

main().catch((e) => {
    console.error(`example-app: ${e instanceof Error ? e.message : e}`);
    process.exit(e instanceof UsageError ? 2 : 1);
});
