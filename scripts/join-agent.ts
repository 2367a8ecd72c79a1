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
import { sayer, within } from "./script-lib";
import { deployed, managementToken, openStack, runMain, StackError } from "./stack-access";

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

async function main(): Promise<number> {
    const { name, stack: stackOption, remove } = options();
    const stack = openStack({ stack: stackOption, secrets: true });
    const outputs = deployed(stack);
    const cluster = stack.clusters[0];
    const dc = cluster.primary;
    const token = managementToken(outputs, cluster, dc.name);
    const server = dc.servers[0].name;
    const inServer = (args: string[]) => stack.consul(dc.name, server, token, args);

    /** Removes the agent's container, its catalog entry and its token: the one with `accessor`, or else the one described as this agent's. */
    async function removeAgent(accessor?: string): Promise<boolean> {
        await stack.consul(dc.name, name, token, ["leave"]);
        await stack.docker(dc.name, ["rm", "-f", "-v", name]);
        await inServer(["force-leave", "-prune", name]);
        const listed = accessor ? undefined : await inServer(["acl", "token", "list", "-format", "json"]);
        const id =
            accessor ??
            (JSON.parse(listed?.stdout || "[]") as { AccessorID: string; Description: string }[]).find(
                (t) => t.Description === `agent token for ${name}`,
            )?.AccessorID;
        return id === undefined || (await inServer(["acl", "token", "delete", "-accessor-id", id])).code === 0;
    }

    if (remove) {
        if (!(await removeAgent())) {
            throw new StackError(`removed ${name}, but could not delete its token; run --remove again`);
        }
        say(`removed ${name} and its token.`);
        return 0;
    }
    const client = dc.clients[0]?.name;
    if (client === undefined) {
        throw new StackError(`${dc.name} has no client agent to take its config from; give it one (clients: 1)`);
    }
    if ((await stack.docker(dc.name, ["container", "inspect", name])).code === 0) {
        throw new StackError(`a container named ${name} exists already; remove it with --remove`);
    }
    // The primary's servers' image, as it runs.
    const image = await stack.docker(dc.name, ["inspect", "--format", "{{.Config.Image}}", server]);
    if (image.code !== 0) {
        throw new StackError(`${server} is not running; run 'pulumi up'`);
    }

    // Until the agent has joined, any end (an error, a signal) removes what this run made: the files, the
    // half-made container, and the token, which would otherwise stay valid with no agent to use it.
    let accessor: string | undefined;
    let joined = false;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "join-agent-"));
    const cleanUp = async () => {
        fs.rmSync(dir, { recursive: true, force: true });
        if (accessor !== undefined && !joined) {
            const gone = await removeAgent(accessor);
            say(
                gone
                    ? `removed the half-started ${name} and its token.`
                    : `removed ${name}, but could not delete its token (accessor ID ${accessor}); run with --remove.`,
            );
        }
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => void cleanUp().then(() => process.exit(130)));
    }
    try {
        // Its own token, a node identity, like every agent of the stack.
        const created = await inServer([
            "acl",
            "token",
            "create",
            "-description",
            `agent token for ${name}`,
            "-node-identity",
            `${name}:${dc.name}`,
            "-format",
            "json",
        ]);
        if (created.code !== 0) {
            throw new StackError(`could not create a token for ${name}: ${created.stderr.trim()}`);
        }
        const { AccessorID, SecretID } = JSON.parse(created.stdout) as { AccessorID: string; SecretID: string };
        accessor = AccessorID;

        // The stack's config for the first client: the base files, the gossip key, the CA and the client
        // certificate the servers accept RPC with (container to container, never to the terminal), with this
        // agent's name. Only its token is its own, and its address is whatever Docker gives it, so it advertises that.
        for (const f of borrowed) {
            fs.mkdirSync(path.join(dir, "consul", path.dirname(f)), { recursive: true });
            if (
                (await stack.docker(dc.name, ["cp", `${client}:/consul/${f}`, path.join(dir, "consul", f)])).code !== 0
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
            JSON.stringify({ acl: { tokens: { agent: SecretID } } }, null, 2),
        );
        for (const f of [...borrowed, "config/acl-tokens.json"]) {
            fs.chmodSync(path.join(dir, "consul", f), 0o644);
        }

        const made = await stack.docker(dc.name, [
            "create",
            "--name",
            name,
            "--hostname",
            name,
            "--network",
            dc.lanNetworkName,
            "--user",
            "consul",
            "--label",
            `consul.stack=${stack.name}`,
            "--label",
            `consul.datacenter=${dc.name}`,
            "--label",
            "consul.role=laptop-agent",
            "--entrypoint",
            "/bin/consul",
            image.stdout.trim(),
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
            const done = await stack.docker(dc.name, step, step[0] === "cp" ? { input: files } : {});
            if (done.code !== 0) {
                throw new StackError(`docker ${step[0]} ${name} failed: ${done.stderr.trim()}`);
            }
        }
        const members = () => stack.consul(dc.name, name, token, ["members"]);
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
