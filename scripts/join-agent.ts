// "Join your laptop's agent": start one more Consul client agent, in a container of its own on the primary
// datacenter's Docker host, joined to it with the stack's gossip key, CA and a token of its own, as the demo
// recommends for development: your app then talks to this local agent like any other.
//
//   scripts/join-agent.sh [--name NAME] [--stack STACK]             start NAME (default laptop-agent)
//   scripts/join-agent.sh --remove [--name NAME] [--stack STACK]
//
// Its config is the one the stack rendered for the datacenter's first client, with its own name and token;
// the gossip key and tokens travel in files and environment variables, never in a command line. Remove the
// agent before `pulumi destroy`, which cannot delete a network a container still uses (`npm run
// cluster:down` sweeps it too).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { DatacenterModel } from "../components/model/stack-model";
import { sayer, within } from "./script-lib";
import { deployed, managementToken, openStack, runMain, type StackAccess, StackError } from "./stack-access";

const say = sayer("join-agent");
/** What the agent's config is made of: the first client's, as the stack uploaded it. */
const borrowed = [
    "config/common.hcl",
    "config/client.hcl",
    "config/agent.json",
    "config/gossip.json",
    "tls/ca.pem",
    "tls/client.pem",
    "tls/client-key.pem",
];

function options(): { name: string; stack?: string; remove: boolean } {
    try {
        const { values } = parseArgs({
            options: {
                name: { type: "string", default: "laptop-agent" },
                stack: { type: "string" },
                remove: { type: "boolean", default: false },
            },
        });
        return {
            name: values.name as string,
            remove: values.remove as boolean,
            ...(values.stack ? { stack: values.stack } : {}),
        };
    } catch (e) {
        throw new StackError(`${(e as Error).message}; use --name NAME, --stack STACK, --remove`);
    }
}

/** The primary datacenter the agent joins, reached through its first server with the management token. */
interface Target {
    readonly stack: StackAccess;
    readonly dc: DatacenterModel;
    readonly token: string;
    readonly server: string;
}

const inServer = (t: Target, args: string[]) => t.stack.consul(t.dc.name, t.server, t.token, args);

/** Removes the agent's container, its catalog entry and its token: the one with `accessor`, or else the one described as this agent's. */
async function removeAgent(t: Target, name: string, accessor?: string): Promise<boolean> {
    await t.stack.consul(t.dc.name, name, t.token, ["leave"]);
    await t.stack.docker(t.dc.name, ["rm", "-f", "-v", name]);
    await inServer(t, ["force-leave", "-prune", name]);
    const listed = accessor ? undefined : await inServer(t, ["acl", "token", "list", "-format", "json"]);
    const id =
        accessor ??
        (JSON.parse(listed?.stdout || "[]") as { AccessorID: string; Description: string }[]).find(
            (token) => token.Description === `agent token for ${name}`,
        )?.AccessorID;
    return id === undefined || (await inServer(t, ["acl", "token", "delete", "-accessor-id", id])).code === 0;
}

/** Its own token, a node identity, like every agent of the stack. */
async function createToken(t: Target, name: string): Promise<{ AccessorID: string; SecretID: string }> {
    const created = await inServer(t, [
        "acl",
        "token",
        "create",
        "-description",
        `agent token for ${name}`,
        "-node-identity",
        `${name}:${t.dc.name}`,
        "-format",
        "json",
    ]);
    if (created.code !== 0) {
        throw new StackError(`could not create a token for ${name}: ${created.stderr.trim()}`);
    }
    return JSON.parse(created.stdout) as { AccessorID: string; SecretID: string };
}

/**
 * The stack's config for the first client, in `dir`/consul: the base files, the gossip key, the CA and the
 * client certificate the servers accept RPC with (container to container, never to the terminal), with this
 * agent's name. Only its token is its own, and its address is whatever Docker gives it, so it advertises that.
 */
async function writeAgentFiles(t: Target, client: string, name: string, secret: string, dir: string): Promise<void> {
    for (const f of borrowed) {
        fs.mkdirSync(path.join(dir, "consul", path.dirname(f)), { recursive: true });
        if (
            (await t.stack.docker(t.dc.name, ["cp", `${client}:/consul/${f}`, path.join(dir, "consul", f)])).code !== 0
        ) {
            throw new StackError(`could not copy /consul/${f} from ${client}; is it running?`);
        }
    }
    const agentJson = path.join(dir, "consul", "config", "agent.json");
    const { advertise_addr: _theClients, ...config } = JSON.parse(fs.readFileSync(agentJson, "utf8")) as Record<
        string,
        unknown
    >;
    fs.writeFileSync(agentJson, JSON.stringify({ ...config, node_name: name }, null, 2));
    fs.writeFileSync(
        path.join(dir, "consul", "config", "acl-tokens.json"),
        JSON.stringify({ acl: { tokens: { agent: secret } } }, null, 2),
    );
    for (const f of [...borrowed, "config/acl-tokens.json"]) {
        fs.chmodSync(path.join(dir, "consul", f), 0o644);
    }
}

/** Creates the agent's container on the datacenter's LAN, copies `dir`/consul into it and starts it. */
async function startContainer(t: Target, name: string, image: string, dir: string): Promise<void> {
    const made = await t.stack.docker(t.dc.name, [
        "create",
        "--name",
        name,
        "--hostname",
        name,
        "--network",
        t.dc.lanNetworkName,
        "--user",
        "consul",
        "--label",
        `consul.stack=${t.stack.name}`,
        "--label",
        `consul.datacenter=${t.dc.name}`,
        "--label",
        "consul.role=laptop-agent",
        "--entrypoint",
        "/bin/consul",
        image,
        "agent",
        "-config-dir=/consul/config",
    ]);
    if (made.code !== 0) {
        throw new StackError(`docker create ${name} failed: ${made.stderr.trim()}`);
    }
    const files = execFileSync("tar", ["-C", dir, "--owner=0", "--group=0", "-cf", "-", "consul"], {
        maxBuffer: 16 * 1024 * 1024,
    });
    for (const step of [
        ["cp", "-", `${name}:/`],
        ["start", name],
    ]) {
        const done = await t.stack.docker(t.dc.name, step, step[0] === "cp" ? { input: files } : {});
        if (done.code !== 0) {
            throw new StackError(`docker ${step[0]} ${name} failed: ${done.stderr.trim()}`);
        }
    }
}

/** The first client to borrow the config of, and the image the primary's servers run, both checked. */
async function preflight(t: Target, name: string): Promise<{ client: string; image: string }> {
    const client = t.dc.clients[0]?.name;
    if (client === undefined) {
        throw new StackError(`${t.dc.name} has no client agent to take its config from; give it one (clients: 1)`);
    }
    if ((await t.stack.docker(t.dc.name, ["container", "inspect", name])).code === 0) {
        throw new StackError(`a container named ${name} exists already; remove it with --remove`);
    }
    const image = await t.stack.docker(t.dc.name, ["inspect", "--format", "{{.Config.Image}}", t.server]);
    if (image.code !== 0) {
        throw new StackError(`${t.server} is not running; run 'pulumi up'`);
    }
    return { client, image: image.stdout.trim() };
}

async function main(): Promise<number> {
    const { name, stack: stackOption, remove } = options();
    const stack = openStack({ stack: stackOption, secrets: true });
    const cluster = stack.clusters[0];
    const dc = cluster.primary;
    const t: Target = {
        stack,
        dc,
        token: managementToken(deployed(stack), cluster, dc.name),
        server: dc.servers[0].name,
    };
    if (remove) {
        if (!(await removeAgent(t, name))) {
            throw new StackError(`removed ${name}, but could not delete its token; run --remove again`);
        }
        say(`removed ${name} and its token.`);
        return 0;
    }
    const { client, image } = await preflight(t, name);

    // Until the agent has joined, any end (an error, a signal) removes what this run made: the files, the
    // half-made container, and the token, which would otherwise stay valid with no agent to use it.
    let accessor: string | undefined;
    let joined = false;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "join-agent-"));
    const cleanUp = async () => {
        fs.rmSync(dir, { recursive: true, force: true });
        if (accessor !== undefined && !joined) {
            say(
                (await removeAgent(t, name, accessor))
                    ? `removed the half-started ${name} and its token.`
                    : `removed ${name}, but could not delete its token (accessor ID ${accessor}); run with --remove.`,
            );
        }
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => void cleanUp().then(() => process.exit(130)));
    }
    try {
        const token = await createToken(t, name);
        accessor = token.AccessorID;
        await writeAgentFiles(t, client, name, token.SecretID, dir);
        await startContainer(t, name, image, dir);
        const members = () => stack.consul(dc.name, name, t.token, ["members"]);
        joined = await within(60, async () => new RegExp(`^${name} .* alive `, "m").test((await members()).stdout));
        if (!joined) {
            const logs = await stack.docker(dc.name, ["logs", "--tail", "20", name]);
            console.error(`${logs.stdout}${logs.stderr}`);
            throw new StackError(`${name} did not join ${dc.name} within 60 s (its log is above)`);
        }
        say(`${name} joined ${dc.name}:`);
        process.stdout.write((await members()).stdout);
        return 0;
    } finally {
        await cleanUp();
    }
}

runMain("join-agent", main);
