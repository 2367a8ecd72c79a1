// Running a program and collecting what it prints: docker, the project's scripts, the example app.
import { spawn } from "node:child_process";

export interface Finished {
    /** Its exit status; null when a signal ended it, or when it could not start. */
    readonly code: number | null;
    readonly stdout: string;
    /** What it printed on stderr; a program that could not start or ran out of time also says so here. */
    readonly stderr: string;
    /** stdout and stderr together, in the order they came. */
    readonly out: string;
}

export interface Started {
    /** What it has printed so far, stdout and stderr together. */
    out(): string;
    kill(signal?: NodeJS.Signals): void;
    /** Resolves once it has ended and all it printed is in; never rejects. */
    readonly finished: Promise<Finished>;
}

export interface RunOptions {
    readonly cwd?: string;
    /** Added to this process's environment. */
    readonly env?: Record<string, string>;
    /** Written to its stdin, which is then closed (at once when there is none). */
    readonly input?: Buffer | string;
    /** After this long it is sent SIGTERM. */
    readonly timeoutMs?: number;
}

/** Starts `command` with `args` (no shell) and collects what it prints. */
export function start(command: string, args: readonly string[], options: RunOptions = {}): Started {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env } });
    let stdout = "";
    let stderr = "";
    let out = "";
    let startError: Error | undefined;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
        out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        out += d;
    });
    // A program may end without reading its input.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
    const finished = new Promise<Finished>((resolve) => {
        const timer =
            options.timeoutMs === undefined
                ? undefined
                : setTimeout(() => {
                      stderr += `\n${command} was stopped after ${options.timeoutMs} ms`;
                      child.kill("SIGTERM");
                  }, options.timeoutMs);
        child.on("error", (e) => (startError = e));
        child.on("close", (code) => {
            clearTimeout(timer);
            if (startError) {
                stderr += `${stderr ? "\n" : ""}${startError.message}`;
            }
            resolve({ code: startError ? null : code, stdout, stderr, out });
        });
    });
    return { out: () => out, kill: (signal) => child.kill(signal), finished };
}

/** Runs `command` with `args` (no shell) to its end: its exit status and what it printed. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<Finished> {
    return start(command, args, options).finished;
}
