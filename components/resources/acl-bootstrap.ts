import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { aclInitScript, type TokenSpec } from "../render/acl";
import { shellHealthcheck } from "../render/healthcheck";
import { stackLabels } from "./labels";

export interface AclBootstrapArgs {
    /**
     * The primary datacenter, whose servers hold the ACL data every datacenter replicates; or a peering datacenter,
     * which holds its own.
     */
    readonly datacenter: string;
    readonly image: pulumi.Input<string>;
    /** The primary's LAN network, and a free fixed address on it for the acl-init container. */
    readonly network: pulumi.Input<string>;
    readonly address: string;
    readonly serverAddresses: readonly string[];
    readonly caCertPem: pulumi.Input<string>;
    /** Used by the acl-init container only; no agent runs with it. */
    readonly managementToken: pulumi.Input<string>;
    /** Every token to create: agent tokens of every datacenter, the replication, service and app tokens. */
    readonly tokens: pulumi.Input<TokenSpec>[];
    /** Policies the tokens name, created when missing: the replication policy among them. */
    readonly policies: readonly { readonly name: string; readonly rules: string }[];
    /** The anonymous token's DNS policy: granted (and one of `policies`), or revoked. */
    readonly anonymous: { readonly policy: string; readonly grant: boolean };
    /** KV keys written once the primary is up, each only if it does not exist yet. */
    readonly kv: readonly (readonly [string, string])[];
    /** Of the container, which stays up: e.g. consul-acl-init. */
    readonly containerName: string;
}

const workDir = "/consul/acl-init";
const doneFile = "/tmp/acl-init.done";
const policyFile = (name: string) => `${workDir}/policy-${name}.hcl`;

/**
 * Creates the stack's ACL policies and tokens in a primary datacenter during `pulumi up`, then seeds
 * KV, with no hand step: a small container of the Consul image runs the generated script, and turns
 * healthy once every token and seed key exists. It keeps running so that `pulumi up` can wait on that healthcheck;
 * a restart re-checks.
 */
export class AclBootstrap extends pulumi.ComponentResource {
    public readonly containerName: pulumi.Output<string>;
    /** Changes when the container is replaced. */
    public readonly containerId: pulumi.Output<string>;

    constructor(name: string, args: AclBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("consul-multi-dc:index:AclBootstrap", name, {}, opts);
        const script = pulumi.all(args.tokens).apply((tokens) =>
            aclInitScript({
                serverAddresses: args.serverAddresses,
                serverName: `server.${args.datacenter}.consul`,
                doneFile,
                policies: args.policies.map((p) => ({ name: p.name, file: policyFile(p.name) })),
                tokens,
                anonymous: args.anonymous,
                kv: args.kv,
            }),
        );
        const containerName = args.containerName;
        const container = new docker.Container(
            `${name}-container`,
            {
                name: containerName,
                hostname: containerName,
                image: args.image,
                entrypoints: ["/bin/sh"],
                command: [`${workDir}/init.sh`],
                user: "consul",
                // The management token reaches the consul CLI as a file: never in argv or the environment.
                envs: [`CONSUL_CACERT=${workDir}/ca.pem`, `CONSUL_HTTP_TOKEN_FILE=${workDir}/management.token`],
                restart: "unless-stopped",
                labels: stackLabels({ "consul.datacenter": args.datacenter, "consul.role": "acl-init" }),
                networksAdvanced: [{ name: args.network, ipv4Address: args.address, aliases: [containerName] }],
                uploads: [
                    { file: `${workDir}/init.sh`, content: pulumi.secret(script) },
                    ...args.policies.map((p) => ({ file: policyFile(p.name), content: p.rules })),
                    { file: `${workDir}/ca.pem`, content: pulumi.output(args.caCertPem) },
                    {
                        file: `${workDir}/management.token`,
                        content: pulumi.secret(pulumi.output(args.managementToken)),
                    },
                ],
                // Its datacenter's readiness step (datacenter-readiness.ts) waits for it.
                healthcheck: shellHealthcheck(`test -f ${doneFile}`, {
                    interval: 1,
                    timeout: 2,
                    startPeriod: 120,
                    retries: 3,
                }),
            },
            { parent: this },
        );
        this.containerName = container.name;
        this.containerId = container.id;
        this.registerOutputs({ containerName: this.containerName, containerId: this.containerId });
    }
}
