// Translates the resources index.ts declares into Docker CLI steps, property by property. Anything it
// does not know throws, so a property newly added to the program can never be dropped silently.
import type { DeclaredResource } from "../support/program";
import { reveal } from "../support/program";

/** A `docker network create` or `docker volume create`. */
export interface CreateStep {
    readonly name: string;
    readonly args: string[];
}

export interface Upload {
    readonly file: string;
    readonly content: Buffer;
}

export interface ContainerStep {
    readonly name: string;
    /** `docker create` arguments, image and command included. */
    readonly createArgs: string[];
    /** Networks after the first, connected before start: `docker network connect` arguments. */
    readonly connectArgs: string[][];
    /** Copied into the created container before it starts, as the provider does. */
    readonly uploads: Upload[];
    /** `wait: true`: healthy within this many seconds after start, or the apply fails. */
    readonly waitHealthySeconds?: number;
    /** Containers this one depends on in Pulumi's graph: it starts once they are ready, as `pulumi up` orders it. */
    readonly startAfter: string[];
}

export interface DockerPlan {
    /** Image references that must exist locally; never pulled or removed here. */
    readonly images: string[];
    readonly networks: CreateStep[];
    readonly volumes: CreateStep[];
    readonly containers: ContainerStep[];
}

type Inputs = Record<string, unknown>;

/** Hands out each property once and fails on any left over. */
class PropertyReader {
    private readonly left: Set<string>;
    constructor(private readonly what: string, private readonly inputs: Inputs) {
        this.left = new Set(Object.keys(inputs).filter((k) => inputs[k] !== undefined));
    }
    take<T>(key: string): T | undefined {
        this.left.delete(key);
        return this.inputs[key] as T | undefined;
    }
    need<T>(key: string): T {
        const value = this.take<T>(key);
        if (value === undefined) {
            throw new Error(`${this.what}: required property "${key}" is missing`);
        }
        return value;
    }
    done(): void {
        if (this.left.size > 0) {
            throw new Error(`${this.what}: the cluster tier does not translate ${[...this.left].map((k) => `"${k}"`).join(", ")}`);
        }
    }
}

function nested(what: string, inputs: Inputs, read: (r: PropertyReader) => void): void {
    const reader = new PropertyReader(what, inputs);
    read(reader);
    reader.done();
}

function labelArgs(what: string, labels: Inputs[] | undefined): string[] {
    return (labels ?? []).flatMap((l, i) => {
        const args: string[] = [];
        nested(`${what}.labels[${i}]`, l, (r) => args.push("--label", `${r.need<string>("label")}=${r.need<string>("value")}`));
        return args;
    });
}

function network(r: PropertyReader, what: string): CreateStep {
    const name = r.need<string>("name");
    const args = ["network", "create", "--driver", r.take<string>("driver") ?? "bridge"];
    (r.take<Inputs[]>("ipamConfigs") ?? []).forEach((ipam, i) =>
        nested(`${what}.ipamConfigs[${i}]`, ipam, (n) => {
            args.push("--subnet", n.need<string>("subnet"));
            const gateway = n.take<string>("gateway");
            if (gateway) {
                args.push("--gateway", gateway);
            }
        }),
    );
    args.push(...labelArgs(what, r.take<Inputs[]>("labels")), name);
    return { name, args };
}

function volume(r: PropertyReader, what: string): CreateStep {
    const name = r.need<string>("name");
    return { name, args: ["volume", "create", ...labelArgs(what, r.take<Inputs[]>("labels")), name] };
}

function healthArgs(what: string, healthcheck: Inputs | undefined): string[] {
    if (!healthcheck) {
        return [];
    }
    const args: string[] = [];
    nested(`${what}.healthcheck`, healthcheck, (h) => {
        const [kind, ...command] = h.need<string[]>("tests");
        if (kind !== "CMD-SHELL" || command.length !== 1) {
            throw new Error(`${what}.healthcheck.tests: only ["CMD-SHELL", "<command>"] is translated`);
        }
        args.push("--health-cmd", command[0]);
        for (const [key, flag] of [["interval", "interval"], ["timeout", "timeout"], ["startPeriod", "start-period"]]) {
            const value = h.take<string>(key);
            if (value !== undefined) {
                args.push(`--health-${flag}`, value);
            }
        }
        const retries = h.take<number>("retries");
        if (retries !== undefined) {
            args.push("--health-retries", String(retries));
        }
    });
    return args;
}

function container(r: PropertyReader, what: string, startAfter: string[]): ContainerStep {
    const name = r.need<string>("name");
    const args = ["create", "--name", name];
    const hostname = r.take<string>("hostname");
    if (hostname) {
        args.push("--hostname", hostname);
    }
    const user = r.take<string>("user");
    if (user) {
        args.push("--user", user);
    }
    args.push("--restart", r.take<string>("restart") ?? "no");
    args.push(...labelArgs(what, r.take<Inputs[]>("labels")));
    (r.take<string[]>("envs") ?? []).forEach((e) => args.push("--env", e));

    (r.take<Inputs[]>("ports") ?? []).forEach((p, i) =>
        nested(`${what}.ports[${i}]`, p, (port) => {
            const ip = port.take<string>("ip") ?? "0.0.0.0";
            const external = port.take<number>("external");
            const protocol = port.take<string>("protocol") ?? "tcp";
            args.push("--publish", `${ip}:${external ?? ""}:${port.need<number>("internal")}/${protocol}`);
        }),
    );
    (r.take<Inputs[]>("volumes") ?? []).forEach((v, i) =>
        nested(`${what}.volumes[${i}]`, v, (vol) => {
            const readOnly = vol.take<boolean>("readOnly") ? ",readonly" : "";
            args.push("--mount", `type=volume,source=${vol.need<string>("volumeName")},target=${vol.need<string>("containerPath")}${readOnly}`);
        }),
    );
    args.push(...healthArgs(what, r.take<Inputs>("healthcheck")));

    const connectArgs: string[][] = [];
    (r.take<Inputs[]>("networksAdvanced") ?? []).forEach((n, i) =>
        nested(`${what}.networksAdvanced[${i}]`, n, (net) => {
            const network = net.need<string>("name");
            const ip = net.take<string>("ipv4Address");
            const aliases = net.take<string[]>("aliases") ?? [];
            if (i === 0) {
                args.push("--network", network, ...(ip ? ["--ip", ip] : []), ...aliases.flatMap((a) => ["--network-alias", a]));
            } else {
                connectArgs.push(["network", "connect", ...(ip ? ["--ip", ip] : []), ...aliases.flatMap((a) => ["--alias", a]), network, name]);
            }
        }),
    );

    const uploads: Upload[] = (r.take<Inputs[]>("uploads") ?? []).map((u, i) => {
        let upload: Upload | undefined;
        nested(`${what}.uploads[${i}]`, u, (up) => {
            const file = up.need<string>("file");
            const content = up.take<string>("content");
            const base64 = up.take<string>("contentBase64");
            if ((content === undefined) === (base64 === undefined)) {
                throw new Error(`${what}.uploads[${i}]: exactly one of content and contentBase64 is translated`);
            }
            upload = { file, content: content !== undefined ? Buffer.from(content) : Buffer.from(base64 as string, "base64") };
        });
        return upload as Upload;
    });

    const entrypoints = r.take<string[]>("entrypoints") ?? [];
    if (entrypoints.length > 0) {
        args.push("--entrypoint", entrypoints[0]);
    }
    const wait = r.take<boolean>("wait");
    const waitTimeout = r.take<number>("waitTimeout");
    // The container runs entrypoint + command; the CLI's --entrypoint takes one word, so the rest leads the command.
    args.push(r.need<string>("image"), ...entrypoints.slice(1), ...(r.take<string[]>("command") ?? []));
    return { name, createArgs: args, connectArgs, uploads, waitHealthySeconds: wait ? (waitTimeout ?? 60) : undefined, startAfter };
}

/** Resource types that exist only in Pulumi's graph and create nothing in Docker. */
const graphOnly = new Set(["consul-multi-dc:index:ConsulDatacenter", "consul-multi-dc:index:AclBootstrap", "pulumi:pulumi:Stack"]);

/**
 * Resources that create nothing in Docker: the cluster tier's mocks compute their real outputs (random
 * bytes and UUIDs, keys and certificates made with openssl, see real-state.ts). Listed here are the
 * properties those mocks honour; any other property would be ignored, so it throws instead.
 */
const computedOnly: Record<string, { properties: string[]; nested?: Record<string, string[]> }> = {
    "random:index/randomBytes:RandomBytes": { properties: ["length"] },
    "random:index/randomUuid:RandomUuid": { properties: [] },
    "tls:index/privateKey:PrivateKey": { properties: ["algorithm", "ecdsaCurve"] },
    "tls:index/selfSignedCert:SelfSignedCert": {
        properties: ["privateKeyPem", "subject", "isCaCertificate", "validityPeriodHours", "allowedUses"],
        nested: { subject: ["commonName", "organization"] },
    },
    "tls:index/certRequest:CertRequest": {
        properties: ["privateKeyPem", "subject", "dnsNames", "ipAddresses"],
        nested: { subject: ["commonName", "organization"] },
    },
    "tls:index/locallySignedCert:LocallySignedCert": {
        properties: ["certRequestPem", "caPrivateKeyPem", "caCertPem", "validityPeriodHours", "allowedUses"],
    },
};

export function translate(resources: readonly DeclaredResource[]): DockerPlan {
    // Dependencies name URNs; a container waits for the containers among them.
    const containerNames = new Map(
        resources.filter((r) => r.type === "docker:index/container:Container").map((r) => [r.urn, reveal(r.inputs.name) as string]),
    );
    const plan = { images: [] as string[], networks: [] as CreateStep[], volumes: [] as CreateStep[], containers: [] as ContainerStep[] };
    for (const resource of resources) {
        const what = `${resource.type} "${resource.name}"`;
        if (graphOnly.has(resource.type)) {
            continue;
        }
        const r = new PropertyReader(what, reveal(resource.inputs) as Inputs);
        switch (resource.type) {
            case "docker:index/network:Network":
                plan.networks.push(network(r, what));
                break;
            case "docker:index/volume:Volume":
                plan.volumes.push(volume(r, what));
                break;
            case "docker:index/container:Container":
                plan.containers.push(container(r, what, [...new Set(resource.dependencies.flatMap((urn) => containerNames.get(urn) ?? []))]));
                break;
            case "docker:index/remoteImage:RemoteImage":
                plan.images.push(r.need<string>("name"));
                if (r.take<boolean>("keepLocally") !== true) {
                    throw new Error(`${what}: the cluster tier only translates keepLocally: true (it never deletes images)`);
                }
                break;
            default: {
                const known = computedOnly[resource.type];
                if (!known) {
                    throw new Error(`${what}: the cluster tier does not translate resource type ${resource.type}`);
                }
                for (const property of known.properties) {
                    const value = r.take<Inputs>(property);
                    const fields = known.nested?.[property];
                    if (fields && value) {
                        nested(`${what}.${property}`, value, (n) => fields.forEach((f) => n.take(f)));
                    }
                }
            }
        }
        r.done();
    }
    return plan;
}
