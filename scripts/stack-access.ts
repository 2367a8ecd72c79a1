// The one way scripts reach a stack: its config (stack-config.ts) compiled into the model, as the program
// compiles it, its outputs read once through the project's pulumi (scripts/pulumi.sh), and each
// datacenter's Docker host. `npm start`, `npm run status`/`down`, the snapshot, join-agent and failover
// scripts and the example app all open their stack here.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { compileStack } from "../components/model/compile";
import type { DatacenterSettings, StackSettings } from "../components/model/settings";
import type { DatacenterModel, StackModel } from "../components/model/stack-model";
import { readBaseConfig, readDockerCertFiles, readNamedFile } from "../components/resources/stack-files";
import { type DockerOptions, docker, dockerArgs, envNames, type Run } from "./docker-cli";
import { projectRoot, stackConfig } from "./stack-config";

/** The stack scripts act on unless told otherwise: the one `npm start` makes. */
export const defaultStack = "dev";

/** A problem the user fixes (no such stack, not deployed, a datacenter it lacks): printed as a message, not a stack trace. */
export class StackError extends Error {}

/** Runs scripts/pulumi.sh on the project's backend (made if need be); `show` passes the engine's own display through. */
export function pulumi(args: readonly string[], show = false): Run {
    const result = spawnSync("bash", [path.join(projectRoot, "scripts", "pulumi.sh"), ...args], {
        cwd: projectRoot,
        env: { ...process.env, PROJECT_BACKEND: "1" },
        stdio: show ? "inherit" : "pipe",
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** The outputs index.ts exports. The secret ones are there only when the stack was opened with `secrets`. */
export interface StackOutputs {
    readonly uiUrls: Record<string, string>;
    readonly httpAddrs: Record<string, string>;
    readonly dnsAddrs: Record<string, string>;
    readonly containers: Record<string, { readonly servers: string[]; readonly clients: string[] }>;
    readonly caCertPem: string;
    readonly primaryDatacenter?: string;
    readonly services?: Record<string, string[]>;
    readonly appKvPrefix?: string;
    /** By peering datacenter: the state of its peering on each side. Absent from stacks deployed before peering. */
    readonly peerings?: Record<string, Record<string, string>>;
    readonly aclBootstrapToken?: string;
    /** By datacenter: its cluster's management token. Absent from stacks deployed before peering. */
    readonly aclBootstrapTokens?: Record<string, string>;
    readonly appToken?: string;
    /** The mesh demo's URL; absent without the mesh. */
    readonly meshDemoUrl?: string;
}

/** One cluster of the stack: a datacenter that holds its own ACLs (the first, or a peering one) and those that use them. */
export interface Cluster {
    readonly primary: DatacenterModel;
    /** The container that makes the cluster's tokens and seeds its KV. */
    readonly aclInitContainer: string;
    /** The primary first. */
    readonly datacenters: readonly DatacenterModel[];
}

/** The stack's clusters, the first datacenter's first: each datacenter with an acl-init container, and the datacenters that use its ACLs. */
export function clustersOf(model: StackModel): Cluster[] {
    return model.datacenters.flatMap((primary) =>
        primary.aclInitContainer === undefined
            ? []
            : [
                  {
                      primary,
                      aclInitContainer: primary.aclInitContainer,
                      datacenters: model.datacenters.filter((dc) => dc.primaryDatacenter === primary.name),
                  },
              ],
    );
}

/**
 * The settings compileStack takes, from the stack's config as the CLI hands it to the program (keys without
 * the project prefix): the files it names read from the project directory, as index.ts reads them.
 */
export function stackSettings(config: Record<string, unknown>, root = projectRoot): StackSettings {
    // The provider reads dockerCertPath from the project directory; this process may run anywhere.
    const datacenters = Array.isArray(config.datacenters)
        ? (config.datacenters as DatacenterSettings[]).map((dc) =>
              typeof dc?.dockerCertPath === "string"
                  ? { ...dc, dockerCertPath: path.resolve(root, dc.dockerCertPath) }
                  : dc,
          )
        : (config.datacenters as DatacenterSettings[]);
    return {
        ...(config as unknown as StackSettings),
        datacenters,
        namePrefix: typeof config.namePrefix === "string" ? config.namePrefix : "",
        kvSeed: readNamedFile(String(config.kvSeed), root),
        baseConfig: readBaseConfig(String(config.baseConfigDir), root),
        dockerCertFiles: Array.isArray(datacenters) ? readDockerCertFiles(datacenters) : {},
    };
}

/**
 * The model the scripts read, compiled from the stack's config. Two keys are left out: they change nothing a
 * script reads, and the stack file may hold the first encrypted. The gossip key is a secret no script needs;
 * keepData (what `pulumi destroy` keeps) is checked with it.
 */
export const stackModel = (config: Record<string, unknown>): StackModel =>
    compileStack({ ...stackSettings(config), gossipKey: undefined, keepData: false });

export interface StackAccess {
    readonly name: string;
    /** The stack's config by key, as the CLI hands it to the program. */
    readonly config: Record<string, unknown>;
    /** The model compiled from the config, without its gossipKey and keepData (stackModel). */
    readonly model: StackModel;
    /** Its outputs; undefined when it has none: never deployed, or destroyed. */
    readonly outputs?: StackOutputs;
    readonly clusters: readonly Cluster[];
    /** The datacenter's model; a StackError naming the ones the stack has when it has no such datacenter. */
    datacenter(name: string): DatacenterModel;
    /** docker's flags for the datacenter's Docker host. */
    engine(datacenter: string): string[];
    /** Runs docker on the datacenter's Docker host. */
    docker(datacenter: string, args: readonly string[], options?: DockerOptions): Promise<Run>;
    /** Runs the consul CLI in one of the datacenter's containers, `token` in its environment (never in argv). */
    consul(datacenter: string, container: string, token: string, args: readonly string[]): Promise<Run>;
}

export interface OpenOptions {
    /** The stack's name; the dev stack unless given. */
    readonly stack?: string;
    /** Read the secret outputs' values too (the tokens), for scripts that act as the operator. */
    readonly secrets?: boolean;
    /** Use (and make) the project's own backend even before it exists, as `npm start` does (scripts/pulumi.sh). */
    readonly projectBackend?: boolean;
}

/** The stack's outputs through the project's pulumi, or undefined when it has none: never deployed, or destroyed. */
export function stackOutputs(options: OpenOptions = {}): StackOutputs | undefined {
    const args = [
        "stack",
        "output",
        "--json",
        ...(options.secrets ? ["--show-secrets"] : []),
        "--stack",
        options.stack ?? defaultStack,
    ];
    const result = spawnSync("bash", [path.join(projectRoot, "scripts", "pulumi.sh"), ...args], {
        cwd: projectRoot,
        env: options.projectBackend ? { ...process.env, PROJECT_BACKEND: "1" } : process.env,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    if (result.status !== 0) {
        return undefined;
    }
    // Without --show-secrets the CLI prints a secret as "[secret]": left out, so no script mistakes it for a value.
    const outputs = Object.fromEntries(
        Object.entries(JSON.parse(result.stdout || "{}") as Record<string, unknown>).filter(
            ([, v]) => v !== "[secret]",
        ),
    );
    return outputs.containers && outputs.httpAddrs ? (outputs as unknown as StackOutputs) : undefined;
}

/** Opens the stack: its config and model, and its outputs. */
export function openStack(options: OpenOptions = {}): StackAccess {
    const name = options.stack ?? defaultStack;
    let config: Record<string, unknown>;
    try {
        config = stackConfig(name);
    } catch (e) {
        throw new StackError(
            `cannot read the config of the stack ${name} (Pulumi.${name}.yaml): ${(e as Error).message}`,
        );
    }
    const model = stackModel(config);
    const outputs = stackOutputs({ ...options, stack: name });
    const datacenter = (dc: string): DatacenterModel => {
        const found = model.datacenters.find((d) => d.name === dc);
        if (!found) {
            throw new StackError(
                `the stack ${name} has no datacenter ${dc}; it has ${model.datacenters.map((d) => d.name).join(", ")}`,
            );
        }
        return found;
    };
    const engine = (dc: string) => dockerArgs(datacenter(dc).host, projectRoot);
    const run = (dc: string, args: readonly string[], dockerOptions?: DockerOptions) =>
        docker([...engine(dc), ...args], dockerOptions);
    return {
        name,
        config,
        model,
        ...(outputs ? { outputs } : {}),
        clusters: clustersOf(model),
        datacenter,
        engine,
        docker: run,
        consul: (dc, container, token, args) =>
            run(dc, ["exec", ...envNames({ CONSUL_HTTP_TOKEN: token }), container, "consul", ...args], {
                env: { CONSUL_HTTP_TOKEN: token },
                timeoutMs: 60_000,
            }),
    };
}

/**
 * The outputs of a stack that must be running as its config says: a StackError when it has none, or when the
 * config names other agents than it runs (edited since the last `pulumi up`), which the script would miss.
 */
export function deployed(stack: Pick<StackAccess, "name" | "model" | "outputs">): StackOutputs {
    if (!stack.outputs) {
        throw new StackError(
            `cannot read the outputs of the stack ${stack.name}; run \`pulumi up\` first (npm start for the dev stack), or pass --stack NAME`,
        );
    }
    const running = JSON.stringify(
        Object.entries(stack.outputs.containers)
            .map(([dc, c]) => [dc, [...c.servers, ...c.clients]])
            .sort(),
    );
    const configured = JSON.stringify(
        stack.model.datacenters.map((dc) => [dc.name, [...dc.servers, ...dc.clients].map((a) => a.name)]).sort(),
    );
    if (running !== configured) {
        throw new StackError(
            `Pulumi.${stack.name}.yaml names other datacenters or agents than the stack ${stack.name} runs: run \`pulumi up\` first, or put the config back`,
        );
    }
    return stack.outputs;
}

/** A cluster's management token: its own for a peering cluster, the stack's for the first datacenter's. */
export function managementToken(outputs: StackOutputs, cluster: Cluster, primaryDatacenter: string): string {
    const token =
        outputs.aclBootstrapTokens?.[cluster.primary.name] ??
        (cluster.primary.name === primaryDatacenter ? outputs.aclBootstrapToken : undefined);
    if (token === undefined) {
        throw new StackError(
            `the stack has no management token for ${cluster.primary.name}; run \`pulumi up\` with this version of the project`,
        );
    }
    return token;
}

/**
 * Runs a script's main, which may resolve with an exit code; a StackError (or a refused config) is printed as
 * `name: message`, anything else with its stack.
 */
export function runMain(name: string, main: () => Promise<unknown>): void {
    main().then(
        (code) => process.exit(typeof code === "number" ? code : 0),
        (e: unknown) => {
            const plain = e instanceof StackError || (e instanceof Error && e.name === "ConfigProblems");
            console.error(`${name}: ${plain ? (e as Error).message : e instanceof Error ? e.stack : String(e)}`);
            process.exit(1);
        },
    );
}
