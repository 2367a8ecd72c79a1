// A thin wrapper over the docker CLI: every call the cluster tier makes goes through here.
import { execFile } from "node:child_process";

export interface Result {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export function docker(args: readonly string[], timeoutMs = 120_000): Promise<Result> {
    return new Promise((resolve) => {
        execFile("docker", args, { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
            const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
            resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() || (error && code !== 0 ? error.message : "") });
        });
    });
}

/** Runs docker and returns stdout; throws with the command and its stderr when it fails. */
export async function dockerOk(args: readonly string[], timeoutMs?: number): Promise<string> {
    const result = await docker(args, timeoutMs);
    if (result.code !== 0) {
        throw new Error(`docker ${args.slice(0, 3).join(" ")} … failed (${result.code}): ${result.stderr.trim()}`);
    }
    return result.stdout;
}

/** Runs a command inside a container, as the consul user unless told otherwise. */
export function exec(container: string, command: readonly string[], timeoutMs = 30_000): Promise<Result> {
    return docker(["exec", container, ...command], timeoutMs);
}
