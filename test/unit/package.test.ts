// The package as a program outside this repository gets it: `npm pack` (whose prepack builds dist/), the
// tarball unpacked into a temporary program's node_modules, and that program, plain JavaScript, run by node
// under Pulumi mocks. A file the component reads at run time and the tarball lacks (a module, agent-start.sh,
// consul-config/*.hcl) fails it, and so does a dependency its package.json does not name.
import assert from "node:assert/strict";
import { execFile, fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { agents, labelsOf, ofType, T, upload } from "../support/declared";
import { fakeState } from "../support/fake-state";
import { type DeclaredResource, type ProgramRun, projectRoot, reveal } from "../support/program";

const run = promisify(execFile);

// Two datacenters, each with a demo service, so the failover queries' dynamic provider is serialized from
// the installed package's code too.
const datacenters = [
    {
        name: "east",
        servers: 1,
        clients: 1,
        subnet: "10.220.1.0/24",
        httpPort: 9700,
        dnsPort: 9800,
        services: [{ name: "web", port: 8080 }],
    },
    {
        name: "west",
        servers: 1,
        clients: 1,
        subnet: "10.220.2.0/24",
        httpPort: 9701,
        dnsPort: 9801,
        services: [{ name: "web", port: 8080 }],
    },
];

/** The consumer's Pulumi program, as its author would write it. */
const programText = (args: Record<string, unknown>) => `const { ConsulFederation } = require("consul-multi-dc");

const federation = new ConsulFederation("lab", ${JSON.stringify(args, null, 4)});

exports.uiUrls = federation.uiUrls;
exports.containers = federation.containers;
`;

// Runs the program named on its command line under Pulumi mocks. The test computes each resource's outputs
// (test/support/fake-state.ts) over IPC and gets back every registration and the program's outputs. No
// provider function answers: on a fresh stack on one Docker host, the component's lookups find nothing.
const mocksText = `const path = require("node:path");
const pulumi = require("@pulumi/pulumi");

const resources = [];
const pending = [];
const answers = new Map();
let asked = 0;
process.on("message", ({ id, state }) => answers.get(id)(state));
const computed = (type, name, inputs) =>
    new Promise((resolve) => {
        const id = asked++;
        answers.set(id, resolve);
        process.send({ computed: { id, type, name, inputs } });
    });

pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            resources.push({ type: args.type, name: args.name, custom: args.custom, inputs: args.inputs });
            const work = computed(args.type, args.name, args.inputs).then((state) => ({ id: args.name + "-id", state: { ...args.inputs, ...state } }));
            pending.push(work);
            return work;
        },
        call: (args) => {
            throw new Error(args.token + ": not found");
        },
    },
    "consul-lab",
    "test",
    false,
);
const program = require(path.resolve(process.argv[2]));
pulumi.all(program).apply(async (outputs) => {
    // Resources the outputs do not wait for (a dynamic resource's provider is serialized first) may still be
    // registering: wait for every registration the runtime has in flight.
    await require("@pulumi/pulumi/runtime/settings").waitForRPCs();
    await Promise.all(pending);
    process.send({ done: { resources, outputs } }, () => process.disconnect());
});
`;

interface ConsumerRun {
    readonly declared: ProgramRun;
    readonly outputs: Record<string, unknown>;
}

interface FromConsumer {
    computed?: { id: number; type: string; name: string; inputs: Record<string, unknown> };
    done?: { resources: Omit<DeclaredResource, "urn" | "dependencies">[]; outputs: Record<string, unknown> };
}

/**
 * Runs `program` in `dir` with plain node (no tsx, whatever NODE_OPTIONS says) under the mocks. A program whose
 * outputs never resolve would keep the IPC channel open for ever: it is stopped after two minutes.
 */
function runConsumer(dir: string, program: string): Promise<ConsumerRun> {
    return new Promise((resolve, reject) => {
        const options = {
            cwd: dir,
            execArgv: [],
            env: { ...process.env, NODE_OPTIONS: "" },
            stdio: "pipe" as const,
            timeout: 120_000,
        };
        const child = fork(path.join(dir, "mocks.js"), [program], options);
        let output = "";
        child.stdout?.on("data", (d) => (output += d));
        child.stderr?.on("data", (d) => (output += d));
        let result: ConsumerRun | undefined;
        child.on("message", async (m: FromConsumer) => {
            if (m.computed) {
                const { id, type, name, inputs } = m.computed;
                const state = await fakeState(type, name, reveal(inputs) as Record<string, unknown>);
                // A program that failed may be gone: its exit, with its output, is the failure to report.
                child.send({ id, state }, () => undefined);
            }
            if (m.done) {
                const resources = m.done.resources.map((r) => ({ ...r, urn: "", dependencies: [] }));
                result = { declared: { resources, outputs: {} }, outputs: m.done.outputs };
            }
        });
        child.on("error", reject);
        child.on("close", (code, signal) =>
            code === 0 && result
                ? resolve(result)
                : reject(new Error(`node ${program} exited with ${code ?? signal}:\n${output}`)),
        );
    });
}

interface Installed {
    /** The tarball's files, as npm pack lists them. */
    readonly packed: string[];
    /** The program, passing only its datacenters. */
    readonly consumer: Promise<ConsumerRun>;
}

/** Packs the package into `tmp`, installs it into a program there and starts that program under mocks. */
async function packAndInstall(tmp: string): Promise<Installed> {
    const consumer = path.join(tmp, "consumer");
    const [pack] = JSON.parse(
        (await run("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: projectRoot })).stdout,
    );
    // npm 11 reads every dependency's full registry document to install a tarball, and `npm ci` leaves only
    // the abbreviated ones in its cache, so `npm install --offline` cannot; `npm ci --offline` from a lockfile
    // built from ours can, in 6 s. Instead: the tarball unpacked as npm would, and beside it only the
    // dependencies its package.json names, linked from this repository's node_modules.
    const installed = path.join(consumer, "node_modules", "consul-multi-dc");
    fs.mkdirSync(installed, { recursive: true });
    await run("tar", ["-xzf", path.join(tmp, pack.filename), "-C", installed, "--strip-components=1"]);
    for (const dependency of Object.keys(
        JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")).dependencies,
    )) {
        const link = path.join(consumer, "node_modules", dependency);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(fs.realpathSync(path.join(projectRoot, "node_modules", dependency)), link);
    }
    fs.writeFileSync(
        path.join(consumer, "package.json"),
        JSON.stringify({
            name: "consul-lab",
            private: true,
            dependencies: { "consul-multi-dc": `file:../${pack.filename}` },
        }),
    );
    fs.writeFileSync(path.join(consumer, "mocks.js"), mocksText);
    fs.writeFileSync(path.join(consumer, "index.js"), programText({ datacenters }));
    const started = runConsumer(consumer, "index.js");
    // The test that awaits it reports a failure.
    started.catch(() => undefined);
    return { packed: pack.files.map((f: { path: string }) => f.path), consumer: started };
}

describe("the package from npm pack, in a program outside the repository", () => {
    // Started as the shard loads this file, not when its turn comes: almost all of it (the build, about 5 s,
    // and the program, about 1.5 s) runs in child processes, beside the shard's other files.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "consul-multi-dc-package-"));
    const installing = packAndInstall(tmp);
    installing.catch(() => undefined);
    // Every test has awaited what it needs by then, the programs' runs included.
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    test("the tarball holds the built package, its base config, README and LICENSE, and no TypeScript source", async () => {
        const { packed } = await installing;
        assert.deepEqual([...new Set(packed.map((f) => f.split("/")[0]))].sort(), [
            "LICENSE",
            "README.md",
            "consul-config",
            "dist",
            "package.json",
        ]);
        assert.deepEqual(packed.filter((f) => f.startsWith("consul-config/")).sort(), [
            "consul-config/client.hcl",
            "consul-config/common.hcl",
            "consul-config/server.hcl",
        ]);
        assert.deepEqual(
            packed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
            [],
        );
        assert.ok(
            packed.includes("dist/index.js") &&
                packed.includes("dist/index.d.ts") &&
                packed.includes("dist/render/agent-start.sh"),
        );
    });

    const declaresTheFederation = async (running: Promise<ConsumerRun>, prefix: string) => {
        const { declared, outputs } = await running;
        assert.deepEqual(
            ofType(declared, T.federation).map((r) => r.name),
            ["lab"],
        );
        const names = agents(declared)
            .map((c) => c.inputs.name)
            .sort();
        assert.deepEqual(
            names,
            ["east-client1", "east-server1", "west-client1", "west-server1"].map((n) => prefix + n),
        );
        assert.deepEqual(outputs.uiUrls, {
            east: "https://127.0.0.1:9700/ui/east",
            west: "https://127.0.0.1:9701/ui/west",
        });
        assert.deepEqual(outputs.containers, {
            east: { servers: [`${prefix}east-server1`], clients: [`${prefix}east-client1`] },
            west: { servers: [`${prefix}west-server1`], clients: [`${prefix}west-client1`] },
        });
        // What the installed package read from its own files, wherever the program runs.
        const shipped = (file: string) => fs.readFileSync(path.join(projectRoot, file), "utf8");
        for (const agent of agents(declared)) {
            const role = labelsOf(agent)["consul.role"];
            assert.equal(upload(agent, "common.hcl").content, shipped("consul-config/common.hcl"));
            assert.equal(upload(agent, `${role}.hcl`).content, shipped(`consul-config/${role}.hcl`));
            assert.deepEqual(agent.inputs.command, [shipped("components/render/agent-start.sh")]);
        }
        assert.ok(
            ofType(declared, "pulumi-nodejs:dynamic:Resource").some(
                (r) => typeof r.inputs.__provider === "string" && r.inputs.__provider.length > 0,
            ),
        );
    };

    test("with datacenters alone, the rest defaulted as the stack config defaults them, it declares the federation, its agents and its uiUrls", () =>
        declaresTheFederation(
            installing.then((i) => i.consumer),
            "",
        ));
});
