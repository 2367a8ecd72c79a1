// Reads Consul's own CLI output inside the containers, and its HTTP API through the published ports.
import { dockerOk, exec } from "./docker";

export interface Member {
    readonly node: string;
    readonly address: string;
    readonly status: string;
    readonly type: string;
    readonly dc: string;
}

/** Parses a table printed by the consul CLI into rows keyed by its header. */
export function parseTable(text: string): Record<string, string>[] {
    const lines = text.trim().split("\n").filter((l) => l.trim() !== "");
    const header = lines.shift()?.split(/\s{2,}|\t/).map((h) => h.trim()) ?? [];
    return lines.map((line) => {
        const cells = line.trim().split(/\s+/);
        return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""]));
    });
}

export async function consul(container: string, ...args: string[]): Promise<string> {
    return dockerOk(["exec", container, "consul", ...args]);
}

export async function members(container: string, ...flags: string[]): Promise<Member[]> {
    return parseTable(await consul(container, "members", ...flags)).map((row) => ({
        node: row.Node,
        address: row.Address,
        status: row.Status,
        type: row.Type,
        dc: row.DC,
    }));
}

export interface RaftPeer {
    readonly node: string;
    readonly state: string;
    readonly voter: boolean;
}

export async function raftPeers(container: string): Promise<RaftPeer[]> {
    return parseTable(await consul(container, "operator", "raft", "list-peers")).map((row) => ({
        node: row.Node,
        state: row.State,
        voter: row.Voter === "true",
    }));
}

/** `consul keyring -list`: for each pool (WAN, "dc1 (LAN)", …) the keys and how many members hold each. */
export async function keyring(container: string): Promise<Map<string, { key: string; held: number; of: number }[]>> {
    const pools = new Map<string, { key: string; held: number; of: number }[]>();
    let pool = "";
    for (const line of (await consul(container, "keyring", "-list")).split("\n")) {
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

/** HTTP GET or PUT against an agent's published API; returns status and body text. */
export async function api(httpAddr: string, urlPath: string, init?: RequestInit): Promise<{ status: number; body: string }> {
    const response = await fetch(`http://${httpAddr}${urlPath}`, { ...init, signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
}

/** Does `from` get an HTTP answer from address:port? (busybox wget's own -T crashes, so `timeout` bounds it.) */
export async function reaches(from: string, address: string, port: number): Promise<boolean> {
    const result = await exec(from, ["timeout", "3", "wget", "-q", "-O", "/dev/null", `http://${address}:${port}/v1/status/leader`]);
    return result.code === 0;
}
