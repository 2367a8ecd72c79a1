// The example app: how an application uses the cluster. It talks only to its own datacenter's local
// agent (the published HTTPS address), trusts the stack's CA, and uses its own least-privilege token;
// all three come from the stack outputs (the dev stack's, or --stack NAME's: scripts/stack-access.ts). It discovers the demo service in every datacenter, reads its
// settings from KV, then watches one key and prints each change. With --peer it lists instead what a
// peered cluster exports, through the same local agent.
//
//   npm run example -- [--dc dc1] [--service web] [--watch KEY] [--once] [--stack NAME]
//   npm run example -- --peer dc3 [--stack NAME]
//
// CONSUL_HTTP_TOKEN, when set, replaces the appToken output (as for the consul CLI).
import * as https from "node:https";
import { parseArgs } from "node:util";
import Consul from "consul";
import { consulCall } from "../components/resources/consul-api";
import { openStack, StackError, type StackOutputs } from "../scripts/stack-access";

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
                dc: { type: "string" },
                service: { type: "string" },
                watch: { type: "string" },
                once: { type: "boolean", default: false },
                stack: { type: "string" },
                peer: { type: "string" },
            },
        });
        return values as Options;
    } catch (e) {
        throw new UsageError(
            `${(e as Error).message}; use --dc NAME, --service NAME, --watch KEY, --once, --stack NAME, --peer NAME`,
        );
    }
}

const required = ["httpAddrs", "caCertPem", "appToken", "appKvPrefix", "services", "primaryDatacenter"] as const;
/** The outputs the app reads; `peerings` is absent from stacks deployed before peering existed. */
type Outputs = Required<Pick<StackOutputs, (typeof required)[number]>> & Pick<StackOutputs, "peerings">;

/** The stack outputs, through the project's pulumi (scripts/pulumi.sh: npm start's backend, or yours). */
function stackOutputs(stack?: string): Outputs {
    let outputs: StackOutputs | undefined;
    try {
        outputs = openStack({ stack, secrets: true }).outputs;
    } catch (e) {
        throw e instanceof StackError ? new UsageError(e.message) : e;
    }
    if (!outputs) {
        throw new UsageError("cannot read the stack outputs; run `pulumi up` first, or pass --stack NAME");
    }
    for (const key of required) {
        if (outputs[key] === undefined)
            throw new UsageError(`the stack has no ${key} output; run \`pulumi up\` with this version of the project`);
    }
    return outputs as Outputs;
}

/** What went wrong, in the user's terms: no agent listening, or the agent refusing the token. */
function explain(err: unknown, address: string): Error {
    const e = err as {
        code?: string;
        statusCode?: number;
        response?: { statusCode?: number; body?: unknown };
        message?: string;
    };
    const status = e.statusCode ?? e.response?.statusCode;
    if (e.code === "ECONNREFUSED" || e.code === "ECONNRESET") {
        return new Error(
            `no Consul agent answers at https://${address} (${e.code}): is the cluster running? \`pulumi up\` starts it`,
        );
    }
    if (status === 403) {
        return new Error(
            `the agent at https://${address} refused the token (403 ${String(e.response?.body ?? e.message).trim()}): use the stack's appToken output`,
        );
    }
    return err instanceof Error ? err : new Error(String(err));
}

/**
 * The passing instances of `service` that `peer` exports, as the local agent imports them
 * (GET /v1/health/service/NAME?peer=PEER). The consul package has no `peer` option, so this one call is plain HTTPS.
 */
async function peerInstances(
    address: string,
    ca: string,
    token: string,
    service: string,
    peer: string,
): Promise<string[]> {
    const path = `/v1/health/service/${encodeURIComponent(service)}?peer=${encodeURIComponent(peer)}&passing=true`;
    const { status, body } = await consulCall({ httpAddr: address, caPem: ca, token }, "GET", path, undefined, 5000);
    if (status !== 200) {
        throw Object.assign(new Error(body), { statusCode: status, response: { statusCode: status, body } });
    }
    const entries = JSON.parse(body) as { Service: { Address: string; Port: number } }[];
    return entries.map((e) => `${e.Service.Address}:${e.Service.Port}`).sort();
}

/** --peer: every demo service the peer runs, as its peering exports it to the first datacenter. */
async function listPeer(outputs: Outputs, options: Options, token: string): Promise<void> {
    const peer = options.peer as string;
    const peers = Object.keys(outputs.peerings ?? {});
    if (!peers.includes(peer)) {
        throw new UsageError(
            `--peer ${peer}: the stack has no peering datacenter ${peer}; ${peers.length > 0 ? `it has ${peers.join(", ")}` : "none of its datacenters has federation: peering"}`,
        );
    }
    // Peering datacenters peer with the first datacenter, whose agents hold the imported services.
    const dc = outputs.primaryDatacenter;
    if (options.dc && options.dc !== dc) {
        throw new UsageError(`--dc ${options.dc}: ${peer} peers with ${dc}; leave --dc out, or pass --dc ${dc}`);
    }
    const address = outputs.httpAddrs[dc];
    const services = options.service ? [options.service] : (outputs.services[peer] ?? []);
    if (services.length === 0) {
        throw new UsageError(`${peer} runs no demo service; pass --service NAME`);
    }
    console.log(
        `example-app: talking to the local agent of ${dc} at https://${address}, about its peer ${peer} (state ${JSON.stringify(outputs.peerings?.[peer])})`,
    );
    try {
        for (const service of services) {
            const found = await peerInstances(address, outputs.caCertPem, token, service, peer);
            console.log(`${service} in peer ${peer} (passing): ${found.length > 0 ? found.join(", ") : "none"}`);
        }
    } catch (e) {
        throw explain(e, address);
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
        throw new UsageError(
            `${dc} runs no demo service; add one under datacenters[].services, or pass --service NAME`,
        );
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
        console.log(
            `example-app: talking to the local agent of ${dc} at https://${address} (stack CA, ${process.env.CONSUL_HTTP_TOKEN ? "CONSUL_HTTP_TOKEN" : "appToken"})`,
        );
        const known = await consul.catalog.datacenters();
        for (const other of [dc, ...known.filter((d: string) => d !== dc)]) {
            const entries = (await consul.health.service({ service, dc: other, passing: true })) as {
                Service: { Address: string; Port: number };
            }[];
            const found = entries.map((e) => `${e.Service.Address}:${e.Service.Port}`).sort();
            console.log(`${service} in ${other} (passing): ${found.length > 0 ? found.join(", ") : "none"}`);
        }
        // KV is per datacenter and the seed lives in the primary: the local agent forwards there.
        const settings = ((await consul.kv.get({ key: `${outputs.appKvPrefix}config/`, recurse: true, dc: kvDc })) ??
            []) as { Key: string; Value: string | null }[];
        if (settings.length === 0) {
            throw new Error(
                `nothing under ${outputs.appKvPrefix}config/ in KV: the seed (consul-config/kv/) was not loaded, or this token may not read it`,
            );
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
    const watch = consul.watch({
        method: consul.kv.get,
        options: { key: watchKey, dc: kvDc },
        backoffFactor: 100,
        backoffMax: 2000,
    });
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
