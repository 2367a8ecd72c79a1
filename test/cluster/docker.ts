// A thin wrapper over the docker CLI: every call the cluster tier makes goes through here.
import { execFile } from "node:child_process";

export interface Result {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs docker; `input` is written to its stdin (e.g. a tar stream for `docker cp -`). */
export function docker(args: readonly string[], timeoutMs = 120_000, input?: Buffer): Promise<Result> {
    return new Promise((resolve) => {
        const child = execFile("docker", args, { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
            const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
            resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() || (error && code !== 0 ? error.message : "") });
        });
        child.stdin?.end(input);
    });
}

/** Runs docker and returns stdout; throws with the command and its stderr when it fails. */
export async function dockerOk(args: readonly string[], timeoutMs?: number, input?: Buffer): Promise<string> {
    const result = await docker(args, timeoutMs, input);
    if (result.code !== 0) {
        throw new Error(`docker ${redact(args).slice(0, 4).join(" ")} … failed (${result.code}): ${result.stderr.trim()}`);
    }
    return result.stdout;
}

/** Tokens pass through `docker exec --env`; no message ever shows their values. */
function redact(args: readonly string[]): string[] {
    return args.map((a) => a.replace(/(TOKEN=).*/, "$1<redacted>"));
}

/** Runs a command inside a container, with extra environment variables (e.g. CONSUL_HTTP_TOKEN). */
export function exec(container: string, command: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Result> {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
    return docker(["exec", ...envArgs, container, ...command], timeoutMs);
}
