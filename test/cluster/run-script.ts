// The project's scripts, run as a user runs them: from the project directory, against the tier's backend.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { projectRoot } from "../support/program";
import { engineEnv } from "../support/engine";

/** Runs scripts/<file> with `args`; resolves with its exit code and its output (stdout and stderr). */
export function runScript(file: string, args: readonly string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
        const child = spawn("bash", [path.join(projectRoot, "scripts", file), ...args], { cwd: projectRoot, env: { ...process.env, ...engineEnv() } });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        child.on("close", (code) => resolve({ code, out }));
    });
}
