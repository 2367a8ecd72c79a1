// The project's static checks on planted files. `npm run lint`'s own command with the project's biome.jsonc: a lint
// error or a formatting difference fails it, naming what is wrong; code written the project's way passes. And a plain
// `tsc --noEmit` with the project's tsconfig.json fails on a type error: `pulumi up` skips the type check without
// tsconfig's noCheck, which would make tsc check nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { projectRoot } from "../support/program";

const lintScript: string = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")).scripts.lint;
const [tool, ...lintArgs] = lintScript.split(/\s+/);

/** Runs the project's `bin` with `args` in a fresh directory holding only `files` (path → text). */
function runIn(files: Record<string, string>, bin: string, args: string[]): { status: number | null; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-multi-dc-lint-"));
    try {
        for (const [file, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), text);
        }
        const run = spawnSync(path.join(projectRoot, "node_modules", ".bin", bin), args, {
            cwd: dir,
            encoding: "utf8",
        });
        assert.equal(run.error, undefined, `${bin} did not run: ${run.error}`);
        return { status: run.status, output: run.stdout + run.stderr };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The lint script's command in a project holding only biome.jsonc and `files`. */
function lint(files: Record<string, string>): { status: number | null; output: string } {
    const biomeConfig = fs.readFileSync(path.join(projectRoot, "biome.jsonc"), "utf8");
    return runIn({ "biome.jsonc": biomeConfig, ...files }, tool, [...lintArgs, "--colors=off"]);
}

// Four-space indents and a line longer than 80 columns (but not 120): the project's style, which must pass.
const clean = [
    "/** Whether a port is one a Consul agent may publish on the host: unprivileged, and not the ephemeral range. */",
    "export function publishable(port: number): boolean {",
    '    return Number.isInteger(port) && port >= 1024 && port < 32768 && !["8300", "8301"].includes(String(port));',
    "}",
    "",
].join("\n");

describe("npm run lint", () => {
    test("is Biome, run the way CI runs it: warnings fail too", () => {
        assert.equal(tool, "biome");
        assert.ok(lintArgs.includes("ci") && lintArgs.includes("--error-on-warnings"), lintScript);
    });

    test("passes code written the project's way", () => {
        const run = lint({ "components/clean.ts": clean });
        assert.equal(run.status, 0, run.output);
    });

    test("fails on a lint error in each folder it covers, naming the rule and the file", () => {
        const planted = ["index.ts", "components/a.ts", "test/a.ts", "scripts/a.ts", "bench/a.ts", "examples/a.ts"];
        const run = lint(Object.fromEntries(planted.map((f) => [f, "export const same = (a: unknown) => a == 1;\n"])));
        assert.notEqual(run.status, 0, run.output);
        for (const file of planted) {
            assert.match(run.output, new RegExp(`${file.replace(".", "\\.")}:1:\\d+ lint/suspicious/noDoubleEquals`));
        }
    });

    test("fails on code the formatter would change: a two-space indent, a line over 120 columns", () => {
        const twoSpaces = clean.replace(/^ {4}/m, "  ");
        const long = clean.replace("port < 32768", `port < 32768 && port !== ${"1".repeat(20)}`);
        const run = lint({ "components/indent.ts": twoSpaces, "components/long.ts": long });
        assert.notEqual(run.status, 0, run.output);
        assert.match(run.output, /components\/indent\.ts format/);
        assert.match(run.output, /components\/long\.ts format/);
    });

    test("leaves out what it does not own: tools/ and the golden files compared byte for byte", () => {
        const run = lint({
            "components/clean.ts": clean,
            "tools/a.ts": "export const same = (a: unknown) => a == 1;\n",
            "test/golden/a.json": '{\n  "two": "spaces"\n}\n',
        });
        assert.equal(run.status, 0, run.output);
    });
});

describe("plain tsc --noEmit", () => {
    test("checks types with the project's tsconfig.json: a planted type error fails it", () => {
        // The project's compiler options on one planted file, without loading @types/node, which it does not use.
        const tsconfig = { extends: path.join(projectRoot, "tsconfig.json"), compilerOptions: { types: [] } };
        const run = runIn(
            {
                "tsconfig.json": JSON.stringify({ ...tsconfig, include: [], files: ["planted.ts"] }),
                "planted.ts": 'export const port: number = "8500";\n',
            },
            "tsc",
            ["--noEmit", "--pretty", "false"],
        );
        assert.notEqual(run.status, 0, run.output);
        assert.match(run.output, /planted\.ts\(1,14\): error TS2322: Type 'string' is not assignable to type 'number'/);
    });
});

/** `file:line (length)` of each line over 120 characters in the files under `root`, but those in `exempt`. */
function longLines(root: string, exempt: readonly string[]): string[] {
    return fs
        .readdirSync(root, { recursive: true, encoding: "utf8" })
        .filter((file) => !exempt.includes(file) && fs.statSync(path.join(root, file)).isFile())
        .flatMap((file) =>
            fs
                .readFileSync(path.join(root, file), "utf8")
                .split("\n")
                .flatMap((line, i) => ([...line].length > 120 ? [`${file}:${i + 1} (${[...line].length})`] : [])),
        );
}

describe("components/", () => {
    // agent-start.sh is the agents' command verbatim: rewrapping it would change that command and so replace every
    // agent of a running stack. The formatter cannot break comments and strings, so this catches what it leaves.
    const exempt = [path.join("render", "agent-start.sh")];

    test("has no line over 120 characters, in any file", () => {
        assert.deepEqual(longLines(path.join(projectRoot, "components"), exempt), []);
    });

    test("the check finds a planted line of 121 characters, and only where it is not exempt", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-multi-dc-long-"));
        try {
            fs.mkdirSync(path.join(dir, "render"));
            fs.writeFileSync(path.join(dir, "render", "a.ts"), `// ${"x".repeat(117)}\n// ${"x".repeat(118)}\n`);
            fs.writeFileSync(path.join(dir, "render", "agent-start.sh"), `# ${"x".repeat(200)}\n`);
            assert.deepEqual(longLines(dir, exempt), [`${path.join("render", "a.ts")}:2 (121)`]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
