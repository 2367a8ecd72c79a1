// The stack config as the user writes it (Pulumi.<stack>.yaml, or ConsulFederation's args), before any
// check: the input of compileStack. Files the config names arrive as text, read by the caller, so that
// compiling stays pure.
import type { IntentionSettings } from "./mesh";
import type { ServiceSettings } from "./services";

/**
 * How a datacenter connects to the first one: "wan" joins its federation (one set of ACLs, KV reads
 * across, the WAN gossip pool); "peering" makes it a cluster of its own that peers with the first and
 * shares only the services each exports.
 */
export type Federation = "wan" | "peering";
export const federations: readonly Federation[] = ["wan", "peering"];

/** One entry of the `datacenters` stack config. */
export interface DatacenterSettings {
    readonly name: string;
    readonly servers: number;
    readonly clients: number;
    readonly subnet: string;
    readonly httpPort: number;
    readonly dnsPort: number;
    /** Demo services registered on this datacenter's client agent; none unless set. */
    readonly services?: readonly ServiceSettings[];
    /**
     * The Docker engine it runs on: unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST[:PORT]; the local engine when
     * unset.
     */
    readonly dockerHost?: string;
    /** tcp:// only: a directory holding ca.pem, cert.pem and key.pem, as Docker's DOCKER_CERT_PATH. */
    readonly dockerCertPath?: string;
    /** ssh:// only: extra ssh options. */
    readonly dockerSshOpts?: readonly string[];
    /** The IPv4 address other datacenters and the user reach its Docker host on. */
    readonly hostAddress?: string;
    /** "wan" when unset. */
    readonly federation?: Federation;
}

/** A file the config names: its path as written, for messages, and its text; undefined when it does not exist. */
export interface NamedFile {
    readonly path: string;
    readonly text?: string;
}

export interface StackSettings {
    readonly image: string;
    readonly datacenters: readonly DatacenterSettings[];
    readonly wanSubnet: string;
    readonly publishAddress: string;
    readonly namePrefix: string;
    /** Optional: when absent the stack generates one. A secret, so no message ever repeats it. */
    readonly gossipKey?: string;
    /** Image of the demo service instances. */
    readonly demoImage: string;
    /** Image of the mesh's Envoy proxies, with the consul binary for `consul connect envoy`. */
    readonly envoyImage: string;
    /** Keep the agents' data volumes on destroy; needs a fixed gossipKey. */
    readonly keepData: boolean;
    /** Let the anonymous token read node and service names, for DNS. */
    readonly dnsAnonymousRead: boolean;
    /** A catch-all prepared query template in every datacenter, failing over to the others. */
    readonly failoverQueries: boolean;
    /** Consul's service mesh: Connect on every agent, an Envoy sidecar beside each demo service instance. */
    readonly mesh: boolean;
    /** With the mesh: a mesh gateway in each datacenter, through which calls cross between datacenters. */
    readonly meshGateways: boolean;
    /** With the mesh: which service may call which (ACLs deny by default, so intentions do too). */
    readonly intentions: readonly IntentionSettings[];
    /** `kvSeed`: a JSON file of key → value written once the primary is up; no seed when absent. */
    readonly kvSeed?: NamedFile;
    /** `baseConfigDir`: the directory of the base config files, and each file's text by name. */
    readonly baseConfig: { readonly dir: string; readonly files: Readonly<Record<string, string | undefined>> };
    /** The files (of ca.pem, cert.pem, key.pem) each datacenter's dockerCertPath holds, by that path as written. */
    readonly dockerCertFiles?: Readonly<Record<string, readonly string[]>>;
}

/** Thrown with every problem found, so a user fixes their config in one pass. */
export class ConfigProblems extends Error {
    constructor(
        readonly problems: readonly string[],
        heading = "Invalid stack config",
    ) {
        super(`${heading}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigProblems";
    }
}
