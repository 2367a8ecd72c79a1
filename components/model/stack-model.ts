// The compiled model of the whole federation (compile.ts makes it): every datacenter with its agents,
// their names, node IDs and addresses, its published ports and service instances. Everything later in the
// pipeline (agent configs, scripts, Docker resources) reads it; nothing is worked out twice.
import type { Ipv4Cidr } from "./cidr";
import type { DockerHostModel, ServerHostPorts } from "./docker-hosts";
import type { MeshConfig, MeshGatewayModel } from "./mesh";
import type { ServiceConfig, ServiceInstance } from "./services";
import type { Federation } from "./settings";

export type AgentRole = "server" | "client";

/** The base files in consul-config/ (the stack's baseConfigDir) that an agent of each role loads, in merge order. */
export const baseConfigFiles: Record<AgentRole, readonly string[]> = {
    server: ["common.hcl", "server.hcl"],
    client: ["common.hcl", "client.hcl"],
};
/** Every base file, once: what baseConfigDir must hold. */
export const baseConfigFileNames: readonly string[] = [...new Set(Object.values(baseConfigFiles).flat())];

export interface AgentModel {
    /** Container name, hostname and Consul node name, e.g. dc1-server1. */
    readonly name: string;
    readonly datacenter: string;
    readonly role: AgentRole;
    /** 1-based position among the agents of its role, e.g. 2 for dc1-server2. */
    readonly ordinal: number;
    /** The Consul node ID: the same for the same datacenter and name in every stack (node-id.ts). */
    readonly nodeId: string;
    readonly lanAddress: string;
    /** The Docker volume of its data directory, e.g. dc1-server1-data. */
    readonly dataVolume: string;
    /** Servers only: the address other datacenters reach it on: on the WAN network, or its host's address. */
    readonly wanAddress?: string;
    /** Servers of datacenters that span Docker hosts only: the ports it publishes on its host's address. */
    readonly hostPorts?: ServerHostPorts;
}

export interface DatacenterModel {
    readonly name: string;
    /** The Docker network of its LAN, e.g. dc1-lan. */
    readonly lanNetworkName: string;
    /**
     * Datacenters that hold their cluster's ACLs only (the first, and each peering one): the container that makes its
     * tokens.
     */
    readonly aclInitContainer?: string;
    /** "wan": it joins the first datacenter's federation; "peering": a cluster of its own, peered with the first. */
    readonly federation: Federation;
    /** The first datacenter, or a peering datacenter itself: it holds the ACLs this one uses. */
    readonly primaryDatacenter: string;
    /** Peering datacenters only: the datacenter it peers with, the first. */
    readonly peersWith?: string;
    /**
     * The first datacenter of a stack with peering datacenters only: host:port of its servers' gRPC TLS, where peers
     * dial.
     */
    readonly peeringAddresses: readonly string[];
    readonly subnet: Ipv4Cidr;
    readonly gateway: string;
    /** A free address below the servers' range, for one-off tools such as the acl-init container. */
    readonly utilityAddress: string;
    readonly servers: readonly AgentModel[];
    readonly clients: readonly AgentModel[];
    /** The Docker engine it runs on. */
    readonly host: DockerHostModel;
    /**
     * The WAN addresses its servers join, with the port when it is not 8302: the primary's servers; empty for the
     * primary.
     */
    readonly wanJoin: readonly string[];
    /**
     * Where a new secondary server checks its replication token: the primary servers' HTTPS API; empty for the
     * primary.
     */
    readonly primaryApis: readonly { readonly address: string; readonly port: number }[];
    /** Host IP the published ports bind to: the stack's publishAddress on the local engine, else the host's address. */
    readonly publishAddress: string;
    /**
     * Publishes the UI/API and DNS: the first client (applications talk to their local agent), else the first
     * server.
     */
    readonly published: AgentModel;
    /** Host ports of the HTTPS UI/API and of DNS (tcp and udp). */
    readonly ports: { readonly http: number; readonly dns: number };
    readonly services: readonly ServiceConfig[];
    /** The stack's mesh takes in this datacenter (a WAN one): Connect on its agents, a sidecar per instance. */
    readonly inMesh: boolean;
    /** Each demo service instance, registered on the first client. */
    readonly instances: readonly ServiceInstance[];
    /** With the mesh's gateways: its mesh gateway, registered on the first client. */
    readonly meshGateway?: MeshGatewayModel;
}

export interface StackModel {
    readonly image: string;
    readonly demoImage: string;
    readonly envoyImage: string;
    readonly namePrefix: string;
    readonly gossipKey?: string;
    readonly keepData: boolean;
    readonly dnsAnonymousRead: boolean;
    readonly failoverQueries: boolean;
    /** The service mesh, when on: every agent runs Connect, and each demo service instance an Envoy sidecar. */
    readonly mesh?: MeshConfig;
    readonly primaryDatacenter: string;
    /** The Docker network that joins every datacenter's servers, when they share one Docker host. */
    readonly wan: { readonly networkName: string; readonly subnet: Ipv4Cidr; readonly gateway: string };
    /**
     * The datacenters run on more than one Docker host: servers federate over the hosts' addresses, with no WAN
     * network.
     */
    readonly acrossHosts: boolean;
    /** Some datacenter peers with the first: the servers of both sides then run Connect, which peering needs. */
    readonly peered: boolean;
    /** The primary first. */
    readonly datacenters: readonly DatacenterModel[];
    /** Every demo service name of any datacenter, sorted: one token each. */
    readonly serviceNames: readonly string[];
    readonly kvSeed: readonly (readonly [string, string])[];
    /** The base config files by name. */
    readonly baseConfig: Readonly<Record<string, string>>;
    readonly warnings: readonly string[];
}
