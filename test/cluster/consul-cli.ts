// Reads Consul's own CLI output inside the containers, and its HTTPS API through the published ports.
import { promises as dns } from "node:dns";
import * as https from "node:https";
import { exec } from "../support/docker";

export interface Member {
    readonly node: string;
    readonly address: string;
    readonly status: string;
    readonly type: string;
    readonly dc: string;
}

/** Parses a table printed by the consul CLI into rows keyed by its header. */
function parseTable(text: string): Record<string, string>[] {
    const lines = text
        .trim()
        .split("\n")
        .filter((l) => l.trim() !== "");
    const header =
        lines
            .shift()
            ?.split(/\s{2,}|\t/)
            .map((h) => h.trim()) ?? [];
    return lines.map((line) => {
        const cells = line.trim().split(/\s+/);
        return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""]));
    });
}

/** The consul CLI inside a container, with a token (ACLs deny everything else). */
export class ConsulCli {
    constructor(private readonly token: string) {}

    async run(container: string, ...args: string[]): Promise<string> {
        const result = await exec(container, ["consul", ...args], { CONSUL_HTTP_TOKEN: this.token });
        if (result.code !== 0) {
            throw new Error(
                `consul ${args.join(" ")} in ${container} failed (${result.code}): ${result.stderr.trim()}`,
            );
        }
        return result.stdout;
    }

    async members(container: string, ...flags: string[]): Promise<Member[]> {
        return parseTable(await this.run(container, "members", ...flags)).map((row) => ({
            node: row.Node,
            address: row.Address,
            status: row.Status,
            type: row.Type,
            dc: row.DC,
        }));
    }

    async raftPeers(container: string): Promise<{ node: string; state: string; voter: boolean }[]> {
        return parseTable(await this.run(container, "operator", "raft", "list-peers")).map((row) => ({
            node: row.Node,
            state: row.State,
            voter: row.Voter === "true",
        }));
    }

    /** `consul keyring -list`: for each pool (WAN, "dc1 (LAN)", …) the keys and how many members hold each. */
    async keyring(container: string): Promise<Map<string, { key: string; held: number; of: number }[]>> {
        const pools = new Map<string, { key: string; held: number; of: number }[]>();
        let pool = "";
        for (const line of (await this.run(container, "keyring", "-list")).split("\n")) {
            const header = /^(\S.*):\s*$/.exec(line);
            const key = /^\s+(\S+)\s+\[(\d+)\/(\d+)\]/.exec(line);
            if (header && !line.startsWith("==>")) {
                pool = header[1];
                pools.set(pool, []);
            } else if (key && pool) {
                pools.get(pool)?.push({ key: key[1], held: Number(key[2]), of: Number(key[3]) });
            }
        }
        return pools;
    }
}

export interface ApiResponse {
    readonly status: number;
    readonly body: string;
    readonly headers: Record<string, string | string[] | undefined>;
}

/** HTTPS request to a published API, trusting only `ca`; rejects on a TLS or connection error. */
export function api(
    httpAddr: string,
    urlPath: string,
    options: {
        ca?: string;
        token?: string;
        method?: string;
        body?: string;
        servername?: string;
        timeoutMs?: number;
    } = {},
): Promise<ApiResponse> {
    const [host, port] = httpAddr.split(":");
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host,
                port: Number(port),
                path: urlPath,
                method: options.method ?? "GET",
                ca: options.ca,
                headers: options.token ? { "X-Consul-Token": options.token } : {},
                // A server's certificate names server.<dc>.consul, not the address it is reached at.
                servername: options.servername,
                // A fresh connection per request, as a client that fails over would make.
                agent: false,
            },
            (res) => {
                let body = "";
                res.on("data", (chunk) => (body += chunk));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
            },
        );
        // A deadline for the whole request, connection included, not just idle time on the socket.
        const ms = options.timeoutMs ?? 5_000;
        const timer = setTimeout(() => req.destroy(new Error(`no answer within ${ms} ms: ${urlPath}`)), ms);
        req.on("close", () => clearTimeout(timer));
        req.on("error", reject);
        req.end(options.body);
    });
}

/** Does `from` get an HTTPS answer from an agent at address? `timeout` bounds an unreachable address. */
export async function reaches(from: string, address: string): Promise<boolean> {
    const result = await exec(
        from,
        ["timeout", "5", "consul", "catalog", "datacenters", `-http-addr=https://${address}:8501`],
        // Only reachability is asked here; certificates are the TLS probes' business.
        { CONSUL_HTTP_SSL_VERIFY: "false" },
    );
    return result.code === 0;
}

/** The A records DNS at dnsAddr (host:port, as the dnsAddrs output gives it) answers for name, sorted; none when it has no answer. */
export async function dnsA(dnsAddr: string, name: string): Promise<string[]> {
    const [host, port] = dnsAddr.split(":");
    const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
    resolver.setServers([`${host}:${port}`]);
    return resolver.resolve4(name).then(
        (a) => a.sort(),
        () => [],
    );
}
