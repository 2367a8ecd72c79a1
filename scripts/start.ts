// `npm start`: the dev cluster, from a fresh clone, in one command. Makes sure of what it needs
// (scripts/prereqs.sh --start), checks what would make `pulumi up` fail halfway (a host port another
// program holds; containers removed by hand), runs `pulumi up` on the project's own backend with the
// engine's own display, checks every datacenter answers, and prints how to use it.
import { spawnSync } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { dockerSync } from "./docker-cli";
import { goneContainers, leaderOf, localDir, openDevStack, startStrandedInstances } from "./project-stack";
import { pulumi, runMain, type StackAccess, StackError, type StackOutputs, stackOutputs } from "./stack-access";
import { projectRoot } from "./stack-config";

class StartError extends StackError {}

function say(message: string): void {
    console.log(`npm start: ${message}`);
}

function prerequisites(): void {
    const prereqs = spawnSync("bash", [path.join(projectRoot, "scripts", "prereqs.sh"), "--start"], {
        stdio: "inherit",
    });
    if (prereqs.status !== 0) {
        throw new StartError(
            "a prerequisite is missing (see above): fix it and run npm start again. npm run prereqs -- --start runs the same steps.",
        );
    }
}

/** Whether this machine lets a new socket bind the port: false when another program (or container) holds it. */
function free(port: number, host: string, protocol: "tcp" | "udp"): Promise<boolean> {
    return new Promise((resolve) => {
        if (protocol === "udp") {
            const socket = dgram.createSocket("udp4");
            socket.once("error", () => resolve(false));
            socket.bind(port, host, () => socket.close(() => resolve(true)));
            return;
        }
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
    });
}

/**
 * Every port the local engine's datacenters publish must be free, or held by this stack's own container
 * (a second `npm start`). Docker would otherwise fail deep inside `pulumi up`, after other containers started.
 */
async function portsFree(stack: StackAccess): Promise<void> {
    const problems: string[] = [];
    for (const [i, dc] of stack.model.datacenters.entries()) {
        if (dc.host.endpoint !== undefined) {
            continue;
        }
        const wanted = [
            { field: "httpPort", port: dc.ports.http, protocol: "tcp", what: "its UI and HTTPS API" },
            { field: "dnsPort", port: dc.ports.dns, protocol: "tcp", what: "its DNS" },
            { field: "dnsPort", port: dc.ports.dns, protocol: "udp", what: "its DNS" },
        ] as const;
        for (const w of wanted) {
            if (await free(w.port, dc.publishAddress, w.protocol)) {
                continue;
            }
            const holders = dockerSync([
                "ps",
                "--filter",
                `publish=${w.port}/${w.protocol}`,
                "--format",
                '{{.Names}} {{.Label "consul.stack"}}',
            ])
                .stdout.trim()
                .split("\n")
                .filter(Boolean)
                .map((l) => l.split(" "));
            if (holders.some(([, label]) => label === stack.name)) {
                continue;
            }
            const by = holders.length > 0 ? `the container ${holders[0][0]}` : "another program";
            problems.push(
                `port ${w.port}/${w.protocol} on ${dc.publishAddress}, where ${dc.name} publishes ${w.what}, is taken by ${by}. ` +
                    `Free it, or give ${dc.name} another port: set datacenters[${i}].${w.field} in Pulumi.${stack.name}.yaml.`,
            );
        }
    }
    if (problems.length > 0) {
        throw new StartError(
            `a port the cluster needs is taken:\n${[...new Set(problems)].map((p) => `  - ${p}`).join("\n")}`,
        );
    }
}

/** The state lists containers that are gone: refresh, so that `pulumi up` makes them again. */
function refreshIfRemovedByHand(stack: StackAccess): void {
    const gone = stack.outputs ? goneContainers(stack, stack.outputs) : [];
    if (gone.length === 0) {
        return;
    }
    say(`the stack's state lists containers that no longer exist (removed by hand?): ${gone.join(", ")}.`);
    say("running `pulumi refresh`, so that the state matches what runs and `pulumi up` makes them again...");
    if (pulumi(["refresh", "--yes", "--skip-preview"], true).code !== 0) {
        throw new StartError("pulumi refresh failed (see above). Run it yourself: npm run pulumi -- refresh");
    }
}

/** Checked, not assumed: each datacenter's published API answers over HTTPS with the stack's CA and knows its leader. */
async function answering(outputs: StackOutputs): Promise<void> {
    const silent = await Promise.all(
        Object.entries(outputs.httpAddrs).map(async ([dc, addr]) =>
            (await leaderOf(addr, outputs.caCertPem)) ? [] : [`${dc} (${addr})`],
        ),
    );
    if (silent.flat().length > 0) {
        throw new StartError(
            `pulumi up finished, but ${silent.flat().join(", ")} did not answer with a leader: see npm run status`,
        );
    }
}

function summary(outputs: StackOutputs, upMs: number): string {
    const caFile = path.join(localDir, "consul-ca.pem");
    fs.writeFileSync(caFile, outputs.caCertPem);
    const dcs = Object.keys(outputs.uiUrls);
    const first = dcs[0];
    const dns = outputs.dnsAddrs[first].split(":");
    const rel = path.relative(process.cwd(), caFile) || caFile;
    return [
        "",
        `Consul is up: ${dcs.join(", ")}, each answering on its published API (pulumi up took ${(upMs / 1000).toFixed(1)} s).`,
        "",
        ...dcs.map((dc, i) => `  ${i === 0 ? "UI    " : "      "}${dc}  ${outputs.uiUrls[dc]}`),
        `  Log in with the management token:  npm run --silent token`,
        `  Trust the stack's CA in your browser, or accept the warning once: ${rel}`,
        "",
        "  For the consul CLI and curl, from this directory:",
        `    export CONSUL_HTTP_ADDR=https://${outputs.httpAddrs[first]}`,
        `    export CONSUL_CACERT=${caFile}`,
        "    export CONSUL_HTTP_TOKEN=$(npm run --silent token)",
        "",
        "  Next:",
        `    dig @${dns[0]} -p ${dns[1]} web.service.consul     DNS, no token needed`,
        "    npm run example -- --once                     the example app, through its local agent",
        "    scripts/join-agent.sh                         join one more agent to dc1",
        "    npm run status                                is every datacenter healthy?",
        "    npm run down                                  remove the cluster (your images stay)",
        "",
    ].join("\n");
}

async function main(): Promise<void> {
    prerequisites();
    const stack = openDevStack();
    await portsFree(stack);
    refreshIfRemovedByHand(stack);
    const stranded = startStrandedInstances(stack.model, (dc) => stack.engine(dc));
    if (stranded.length > 0) {
        say(
            `started the mesh instances Docker left stopped (a Docker restart starts containers in no order): ${stranded.join(", ")}`,
        );
    }
    say(`pulumi up of the ${stack.name} stack (state in ${path.relative(projectRoot, localDir)}/, no login needed)...`);
    const began = Date.now();
    if (pulumi(["up", "--yes", "--skip-preview"], true).code !== 0) {
        throw new StartError(
            "pulumi up failed (see above). Fix what it names and run npm start again; npm run status shows what runs.",
        );
    }
    const upMs = Date.now() - began;
    const outputs = stackOutputs({ stack: stack.name, projectBackend: true });
    if (!outputs) {
        throw new StartError("pulumi up finished but the stack has no outputs: run npm run pulumi -- stack output");
    }
    await answering(outputs);
    console.log(summary(outputs, upMs));
}

runMain("npm start", main);
