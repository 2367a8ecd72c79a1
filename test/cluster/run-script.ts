// The project's scripts, run as a user runs them: from the project directory, against the tier's backend.
import * as path from "node:path";
import { engineEnv } from "../support/engine";
import { type Finished, run } from "../support/process";
import { projectRoot } from "../support/program";

/** Runs scripts/<file> with `args`; resolves with its exit code and its output (`out`: stdout and stderr). */
export function runScript(file: string, args: readonly string[]): Promise<Finished> {
    return run("bash", [path.join(projectRoot, "scripts", file), ...args], { cwd: projectRoot, env: engineEnv() });
}
