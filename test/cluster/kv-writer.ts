// A steady KV writer, as an application would be: one write every 100 ms through one HTTPS API, each
// with a short timeout and then the next one, so a fault shows as the longest gap between
// acknowledged writes. Every acknowledged key must read back afterwards.
//
// Each write has a 400 ms deadline (a KV write takes a few ms). It matters when the agent behind the
// published port is replaced: a connection made while Docker wires up the new container's port is
// accepted by Docker's port proxy, whose own connection to the container is lost and retried after
// Linux's 1 s initial RTO, so a client without a deadline sees up to 1 s more than the agent's downtime.
import { api } from "./consul-cli";

export interface Target {
    /** host:port of an HTTPS API. */
    readonly addr: string;
    /** The name its certificate holds, when that is not the host (a server's LAN address). */
    readonly servername?: string;
}

export interface WriteReport {
    readonly attempts: number;
    readonly acknowledged: string[];
    /** When each acknowledged write was acknowledged (ms since the epoch), in order. */
    readonly ackedAt: number[];
    readonly failures: number;
    /** Longest time between two acknowledged writes, or from the start to the first, in ms. */
    readonly maxGapMs: number;
    /** When that gap began, in ms since the writer started. */
    readonly maxGapFromMs: number;
    /** When that gap began, as a time (ms since the epoch). */
    readonly maxGapAt: number;
}

const intervalMs = 100;
const timeoutMs = 400;

export class KvWriter {
    private stopping = false;
    private readonly done: Promise<WriteReport>;

    constructor(target: Target, ca: string, token: string, prefix: string) {
        this.done = this.run(target, ca, token, prefix);
    }

    private async run(target: Target, ca: string, token: string, prefix: string): Promise<WriteReport> {
        const started = Date.now();
        const acknowledged: string[] = [];
        const ackedAt: number[] = [];
        let attempts = 0;
        let failures = 0;
        let lastAck = started;
        let maxGapMs = 0;
        let maxGapFromMs = 0;
        while (!this.stopping) {
            const began = Date.now();
            const key = `${prefix}/${String(attempts++).padStart(6, "0")}`;
            const ok = await api(target.addr, `/v1/kv/${key}`, {
                ca,
                token,
                method: "PUT",
                body: key,
                servername: target.servername,
                timeoutMs,
            })
                .then((r) => r.status === 200 && r.body.trim() === "true")
                .catch(() => false);
            const now = Date.now();
            if (ok) {
                acknowledged.push(key);
                ackedAt.push(now);
                if (now - lastAck > maxGapMs) {
                    maxGapMs = now - lastAck;
                    maxGapFromMs = lastAck - started;
                }
                lastAck = now;
            } else {
                failures++;
            }
            await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - began))));
        }
        return { attempts, acknowledged, ackedAt, failures, maxGapMs, maxGapFromMs, maxGapAt: started + maxGapFromMs };
    }

    /** Stops after the write in flight and reports. */
    async stop(): Promise<WriteReport> {
        this.stopping = true;
        return this.done;
    }
}

/** The acknowledgements either side of `at`: the outage a fault at that moment caused, as the writer saw it. */
export function outageAround(ackedAt: readonly number[], at: number): { from: number; to: number } {
    const after = ackedAt.findIndex((t) => t > at);
    if (after <= 0) {
        throw new Error(`no acknowledged write on both sides of ${new Date(at).toISOString()}`);
    }
    return { from: ackedAt[after - 1], to: ackedAt[after] };
}

/** The longest time between two acknowledgements that overlaps the window from `from` to `to`, in ms. */
export function longestGapDuring(ackedAt: readonly number[], from: number, to: number): number {
    let longest = 0;
    for (let i = 1; i < ackedAt.length; i++) {
        if (ackedAt[i] >= from && ackedAt[i - 1] <= to) {
            longest = Math.max(longest, ackedAt[i] - ackedAt[i - 1]);
        }
    }
    return longest;
}

/** Which of `keys` do not read back with their own name as value, through `addr`. */
export async function missingKeys(
    addr: string,
    ca: string,
    token: string,
    prefix: string,
    keys: readonly string[],
): Promise<string[]> {
    const res = await api(addr, `/v1/kv/${prefix}?recurse`, { ca, token, timeoutMs: 30_000 });
    const stored = new Map<string, string>(
        res.status === 200
            ? (JSON.parse(res.body) as { Key: string; Value: string | null }[]).map((e) => [
                  e.Key,
                  Buffer.from(e.Value ?? "", "base64").toString(),
              ])
            : [],
    );
    return keys.filter((k) => stored.get(k) !== k);
}
