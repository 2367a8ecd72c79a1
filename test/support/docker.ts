// A thin wrapper over the docker CLI: every call the cluster tier makes goes through here.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "./process";

export interface Result {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs docker; `input` is written to its stdin (e.g. a tar stream for `docker cp -`); `env` is added to its environment. */
export async function docker(
    args: readonly string[],
    timeoutMs = 120_000,
    input?: Buffer,
    env: Record<string, string> = {},
): Promise<Result> {
    const result = await run("docker", args, { timeoutMs, input, env });
    // Ended by a signal (the timeout) or never started: a failure all the same.
    const code = result.code ?? 1;
    return {
        code,
        stdout: result.stdout,
        stderr: result.stderr || (code !== 0 ? `docker exited with status ${code} and printed nothing on stderr` : ""),
    };
}

/** Runs docker and returns stdout; throws with the command and its stderr when it fails. */
export async function dockerOk(args: readonly string[], timeoutMs?: number, input?: Buffer): Promise<string> {
    const result = await docker(args, timeoutMs, input);
    if (result.code !== 0) {
        throw new Error(
            `docker ${redact(args).slice(0, 4).join(" ")} … failed (${result.code}): ${result.stderr.trim()}`,
        );
    }
    return result.stdout;
}

/** A failing command's message never shows a value passed as KEY=VALUE. */
function redact(args: readonly string[]): string[] {
    return args.map((a) => a.replace(/(TOKEN=).*/, "$1<redacted>"));
}

/**
 * Runs a command inside a container, with extra environment variables (e.g. CONSUL_HTTP_TOKEN). They are
 * named on docker's command line and their values passed through docker's own environment, so a token
 * never shows in a process list.
 */
export function exec(
    container: string,
    command: readonly string[],
    env: Record<string, string> = {},
    timeoutMs = 30_000,
): Promise<Result> {
    const envArgs = Object.keys(env).flatMap((k) => ["--env", k]);
    return docker(["exec", ...envArgs, container, ...command], timeoutMs, undefined, env);
}

/**
 * Copies files into a container as the Docker provider's uploads do: one tar extracted at "/", files owned
 * by root with mode 0644. Content may hold secrets, so it goes through a private temp dir and stdin,
 * never through argv or logs.
 */
export async function copyFiles(container: string, files: readonly { file: string; content: Buffer }[]): Promise<void> {
    if (files.length === 0) {
        return;
    }
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "consul-uploads-"));
    try {
        const entries = files.map((u) => u.file.replace(/^\/+/, ""));
        files.forEach((u, i) => {
            const local = path.join(staging, entries[i]);
            fs.mkdirSync(path.dirname(local), { recursive: true });
            fs.writeFileSync(local, u.content, { mode: 0o644 });
        });
        const tar = execFileSync(
            "tar",
            ["-C", staging, "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", ...entries],
            {
                maxBuffer: 64 * 1024 * 1024,
            },
        );
        await dockerOk(["cp", "-", `${container}:/`], undefined, tar);
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
}

/** A file as the container holds it (e.g. what the stack uploaded); never logged, it may be a secret. */
export async function fileIn(container: string, file: string): Promise<Buffer> {
    return Buffer.from(await dockerOk(["exec", container, "cat", file]), "utf8");
}

/** Every file under `dirs` in a container, by path. */
export async function filesIn(container: string, dirs: readonly string[]): Promise<Map<string, Buffer>> {
    const paths = (await dockerOk(["exec", container, "find", ...dirs, "-type", "f"]))
        .split("\n")
        .filter(Boolean)
        .sort();
    return new Map(await Promise.all(paths.map(async (p) => [p, await fileIn(container, p)] as [string, Buffer])));
}
