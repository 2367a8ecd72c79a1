// Runs the real index.ts under Pulumi mocks and records every resource it declares, for the unit tier;
// the stack config the CLI would load and the project paths are shared with the cluster tier and the bench.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { project, projectRoot, stackConfig as readStackConfig } from "../../scripts/stack-config";

export { project, projectRoot };
export const stackName = "dev";

/** The marker Pulumi wraps a secret input in when it reaches the mock monitor. */
const secretSig = "4dabf18193072939515e22adb298388d";

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getDependenciesList(): string[];
}

export interface DeclaredResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly custom: boolean;
    /** Inputs as the engine received them; secret values stay wrapped with `secretSig`. */
    readonly inputs: Record<string, unknown>;
    /** URNs of the resources it waits for: data dependencies and dependsOn, components expanded. */
    readonly dependencies: string[];
    /** The provider reference ("URN::ID") it goes through; undefined for the default provider. */
    readonly provider?: string;
}

/** Computed outputs a real provider would add (IDs, random bytes); returned on top of the inputs. */
export type ComputeState = (
    type: string,
    name: string,
    inputs: Record<string, any>,
) => // plain: secrets revealed
Record<string, unknown> | Promise<Record<string, unknown>>;

export interface ProgramRun {
    readonly resources: DeclaredResource[];
    readonly outputs: Record<string, pulumi.Output<unknown>>;
}

/** The stack config the CLI would hand the program: Pulumi.yaml defaults, then Pulumi.dev.yaml. */
export const stackConfig = (overrides: Record<string, unknown> = {}) => readStackConfig(stackName, overrides);

/** The dev stack's datacenters without the mesh demo: no service that names an upstream (dc1's frontend). */
export const meshlessDatacenters = (): Record<string, unknown>[] =>
    (stackConfig().datacenters as Record<string, unknown>[]).map((dc) =>
        Array.isArray(dc.services)
            ? { ...dc, services: (dc.services as { upstream?: string }[]).filter((s) => s.upstream === undefined) }
            : dc,
    );

/**
 * The dev stack's config as it was before the service mesh (mesh off, no intentions, no frontend), with
 * `overrides` on top: for the shapes the mesh does not take (a peering datacenter, a datacenter without a
 * client to register its gateway on), and to show that a stack without the mesh is unchanged.
 */
export const meshlessConfig = (overrides: Record<string, unknown> = {}) =>
    stackConfig({ mesh: false, intentions: [], datacenters: meshlessDatacenters(), ...overrides });

export function unwrapSecret(value: unknown): { secret: boolean; value: unknown } {
    if (value && typeof value === "object" && (value as Record<string, unknown>)[secretSig] !== undefined) {
        return { secret: true, value: (value as Record<string, unknown>).value };
    }
    return { secret: false, value };
}

/** Strips secret markers at any depth, for code that needs the plain values (mocks, the Docker translation). */
export function reveal(value: unknown): unknown {
    const { value: plain } = unwrapSecret(value);
    if (Array.isArray(plain)) {
        return plain.map(reveal);
    }
    if (plain && typeof plain === "object") {
        return Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, reveal(v)]));
    }
    return plain;
}

/** A Docker network as `docker.getNetwork` reads it: its subnet, and its containers with their addresses. */
export interface MockNetwork {
    readonly subnet: string;
    /** Addresses as Docker lists them, e.g. "10.201.0.11/24". */
    readonly containers: { readonly name: string; readonly ipv4Address: string }[];
    readonly options?: Record<string, string>;
}

/** Resolves with an Output's value, or rejects with the error it failed with, which `outputValue` never sees. */
function settled<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve, reject) => {
        pulumi
            .recover(output, (err) => {
                reject(err);
                return undefined as T;
            })
            .apply((v) => resolve(v));
    });
}

/** Resolves an Output's value in a test; `Output.promise()` is internal. */
export function outputValue<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}

/**
 * Loads index.ts (or `program`) afresh with `config` (keys without the project prefix; `secretKeys` are marked secret,
 * as `pulumi config set --secret` would) and waits until every declared resource is registered.
 * Rejects with the program's own error when it refuses the config.
 */
export async function runProgram(options: {
    config?: Record<string, unknown>;
    secretKeys?: string[];
    computeState: ComputeState;
    preview?: boolean;
    /** Docker networks that exist, with their subnets and containers; none unless given. */
    networks?: Record<string, MockNetwork>;
    /** The program to load, relative to the project; index.ts unless given. */
    program?: string;
    /** Images that are not on the Docker hosts of datacenters with a dockerHost. */
    missingImages?: string[];
}): Promise<ProgramRun> {
    const config = options.config ?? stackConfig();
    const resources: DeclaredResource[] = [];
    const pending: Promise<unknown>[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: async (args) => {
                const work = (async () => {
                    const computed = await options.computeState(
                        args.type,
                        args.name,
                        reveal(args.inputs) as Record<string, unknown>,
                    );
                    return { id: `${args.name}-id`, state: { ...args.inputs, ...computed } };
                })();
                pending.push(work);
                const result = await work;
                resources.push({
                    type: args.type,
                    name: args.name,
                    urn: "",
                    custom: args.custom ?? true,
                    inputs: args.inputs,
                    dependencies: [],
                    ...(args.provider && !args.provider.includes("::default_") ? { provider: args.provider } : {}),
                });
                return result;
            },
            call: (args) => {
                if (args.token === "docker:index/getNetwork:getNetwork") {
                    const network = options.networks?.[args.inputs.name];
                    if (network === undefined) {
                        throw new Error(`Error: Unable to find network "${args.inputs.name}"`);
                    }
                    return {
                        name: args.inputs.name,
                        containers: network.containers,
                        ipamConfigs: [{ subnet: network.subnet }],
                        options: network.options ?? {},
                    };
                }
                // An image is on every Docker host unless listed, and no registry answers, as on this machine.
                if (
                    args.token === "docker:index/getRemoteImage:getRemoteImage" &&
                    !options.missingImages?.includes(args.inputs.name)
                ) {
                    return { name: args.inputs.name, repoDigest: "" };
                }
                if (
                    args.token === "docker:index/getRemoteImage:getRemoteImage" ||
                    args.token === "docker:index/getRegistryImage:getRegistryImage"
                ) {
                    throw new Error(`Error: ${args.inputs.name} not found`);
                }
                throw new Error(`the program made an unexpected provider call: ${args.token}`);
            },
        },
        project,
        stackName,
        options.preview ?? false,
        // What a file backend (the cluster tier's, and `pulumi login --local`) calls every stack's organization.
        "organization",
    );
    // The mock API hides each registration's dependencies; the monitor's request carries them.
    const dependencies = new Map<string, string[]>();
    const monitor = settings.getMonitor() as unknown as {
        resources: Map<string, { urn: string }>;
        registerResource(req: RegisterRequest, callback: unknown): Promise<void>;
        registerResourceOutputs(req: { getUrn(): string }, callback: (err: unknown, response: unknown) => void): void;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList());
        return register(req, callback);
    };
    // A component registers its outputs a few ticks after the stack outputs resolve, so a previous run's can
    // reach this run's monitor, which never knew that component.
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, callback) =>
        monitor.resources.has(req.getUrn()) ? registerOutputs(req, callback) : callback(null, {});
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        if (value !== undefined) {
            flat[`${project}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    pulumi.runtime.setAllConfig(
        flat,
        (options.secretKeys ?? []).map((k) => `${project}:${k}`),
    );

    // The dynamic providers' modules stay loaded: each provider object keys Pulumi's cache of the provider's
    // serialized code, and serializing it afresh for every run cost the unit tier seconds.
    const kept = [
        "failover-query.ts",
        "cluster-peering.ts",
        "config-entry.ts",
        "consul-api.ts",
        "agents-healthy.ts",
        "docker-engine-api.ts",
    ].map((f) => path.join(projectRoot, "components", "resources", f));
    for (const file of Object.keys(require.cache)) {
        if (
            file.startsWith(projectRoot) &&
            !kept.includes(file) &&
            !file.includes(`${path.sep}node_modules${path.sep}`) &&
            !file.includes(`${path.sep}test${path.sep}`)
        ) {
            delete require.cache[file];
        }
    }
    // An error the program fails with after loading (an apply that throws) fails every resource that waits on
    // it; the language host reports it once, as the program's error. So does this run, instead of the test
    // runner failing whichever test is running when each of those rejections arrives.
    let failRun: (err: unknown) => void = () => undefined;
    const uncaught = new Promise<never>((_, reject) => (failRun = reject));
    const testRunner = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", failRun);
    let outputs: Record<string, pulumi.Output<unknown>>;
    try {
        outputs = require(path.join(projectRoot, options.program ?? "index.ts"));
        // Every stack output depends on the containers, which depend on every other resource.
        await Promise.race([Promise.all(Object.values(outputs).map((o) => settled(o))), uncaught]);
        // Resources no output waits for (a dynamic resource's provider is serialized first) may register later:
        // wait for every registration the runtime has in flight.
        await Promise.race([(settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs(), uncaught]);
        await Promise.race([Promise.all(pending), uncaught]);
    } finally {
        // The rest of a failure's rejections arrive within the tick that brought the first.
        await new Promise((resolve) => setImmediate(resolve));
        process.removeListener("unhandledRejection", failRun);
        testRunner.forEach((listener) => process.on("unhandledRejection", listener));
    }
    const urns = [...monitor.resources.keys()];
    return {
        outputs,
        resources: resources.map((r) => ({
            ...r,
            urn: urns.find((u) => u.endsWith(`::${r.name}`) && u.includes(r.type)) ?? "",
            dependencies: dependencies.get(`${r.type}::${r.name}`) ?? [],
        })),
    };
}
