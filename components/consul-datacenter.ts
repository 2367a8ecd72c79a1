import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderJson } from "./agent-config";
import { agentContainerArgs } from "./agent-container";
import { agentFiles, DatacenterFiles } from "./agent-files";
import { datacenterCertificates } from "./certificates";
import { serviceInstanceContainers } from "./service-instances";
import { serviceDefinitions, serviceInstances, serviceProblems, ServiceSettings } from "./services";
import { stackLabels } from "./labels";
import { AgentModel, datacenterModel, datacenterProblems, DatacenterSettings } from "./topology";

export interface ConsulDatacenterArgs {
    // The datacenter's shape is plain, not Input: it decides how many resources exist and their names.
    /** Datacenter name: lowercase letters, digits, "_" and "-". */
    readonly datacenter: string;
    /** The first datacenter of the federation; the same on every agent. */
    readonly primaryDatacenter: string;
    readonly servers: number;
    readonly clients: number;
    /** IPv4 CIDR of this datacenter's own LAN network; agents get fixed addresses in it. */
    readonly subnet: string;
    /** Prefix for container, network and volume names, so stacks can share a Docker host. */
    readonly namePrefix?: string;
    /**
     * The datacenter already runs: the stack deployed it before. A change that replaces its servers then
     * replaces them one at a time, each back as a voter before the next goes. A new datacenter starts all
     * its servers at once, since none can elect a leader before bootstrap_expect of them run.
     */
    readonly formed?: pulumi.Input<boolean>;
    /** Keep the agents' data volumes when the stack is destroyed, for the next `pulumi up` to reuse. */
    readonly keepData?: boolean;
    /** The base config files every agent loads (common.hcl, server.hcl, client.hcl), by name. */
    readonly baseConfig: Readonly<Record<string, string>>;

    /** Image reference, e.g. hashicorp/consul:1.22.7. */
    readonly image: pulumi.Input<string>;
    /** Base64 gossip encryption key, shared by every agent of every datacenter. Treated as a secret. */
    readonly gossipKey: pulumi.Input<string>;
    readonly wan: {
        /** Name of the Docker network that every datacenter's servers share. */
        readonly network: pulumi.Input<string>;
        /** This datacenter's server addresses on that network, one per server. */
        readonly serverAddresses: readonly string[];
        /** Another datacenter's server WAN addresses to join; empty for the primary. */
        readonly join: pulumi.Input<pulumi.Input<string>[]>;
    };
    /** The stack's CA: it signs this datacenter's server and client certificates. */
    readonly ca: { readonly certPem: pulumi.Input<string>; readonly privateKeyPem: pulumi.Input<string> };
    readonly acl: {
        /** Each agent's own token (its secret ID), by agent name. */
        readonly agentTokens: Readonly<Record<string, pulumi.Input<string>>>;
        /** Primary datacenter only: the management token its servers bootstrap ACLs with. */
        readonly initialManagementToken?: pulumi.Input<string>;
        /** Secondary datacenters only: the token their servers replicate ACLs with. */
        readonly replicationToken?: pulumi.Input<string>;
    };
    /** Demo services registered on the first client agent, each instance a container of its own. */
    readonly services?: {
        readonly settings: readonly ServiceSettings[];
        /** An image with a static busybox httpd, e.g. consul-multi-dc/demo-web:1.0. */
        readonly image: pulumi.Input<string>;
        /** The token that may register each service (its secret ID), by service name. */
        readonly tokens: Readonly<Record<string, pulumi.Input<string>>>;
    };
    /** Host ports for the HTTPS UI/API (8501 inside) and DNS (8600 tcp and udp) of this DC's local agent. */
    readonly ports: {
        readonly http: pulumi.Input<number>;
        readonly dns: pulumi.Input<number>;
        /** Host IP the ports bind to; 127.0.0.1 unless set. */
        readonly hostIp?: pulumi.Input<string>;
    };
}

/** What is wrong with the args, each problem naming its argument; empty when nothing is. */
function argsProblems(args: ConsulDatacenterArgs): string[] {
    const shape: Partial<Record<keyof DatacenterSettings, unknown>> = {
        name: args.datacenter,
        servers: args.servers,
        clients: args.clients,
        subnet: args.subnet,
    };
    const problems = datacenterProblems(shape, (field) => `args.${field === "name" ? "datacenter" : field}`);
    if (problems.length === 0 && args.wan.serverAddresses.length !== args.servers) {
        problems.push(`args.wan.serverAddresses must hold one address per server (${args.servers})`);
    }
    problems.push(...serviceProblems(args.services?.settings, args.clients, "args.services.settings"));
    const untokened = [...new Set((args.services?.settings ?? []).map((s) => s.name))].filter((s) => args.services?.tokens[s] === undefined);
    if (untokened.length > 0) {
        problems.push(`args.services.tokens has no token for ${untokened.join(", ")}`);
    }
    return problems;
}

/** One Consul datacenter on Docker: its LAN network, its image, and its server and client agents. */
export class ConsulDatacenter extends pulumi.ComponentResource {
    public readonly serverNames: pulumi.Output<string[]>;
    public readonly clientNames: pulumi.Output<string[]>;
    /** e.g. https://127.0.0.1:8500/ui/dc1 */
    public readonly uiUrl: pulumi.Output<string>;
    /** host:port of the HTTPS API. */
    public readonly httpAddr: pulumi.Output<string>;
    /** host:port of the DNS interface (tcp and udp). */
    public readonly dnsAddr: pulumi.Output<string>;
    /** What another datacenter joins over the WAN pool. */
    public readonly serverWanAddresses: string[];
    /** LAN addresses of the servers, for agents and tools on this datacenter's network. */
    public readonly serverLanAddresses: string[];
    /** A free LAN address for one-off tools. */
    public readonly utilityAddress: string;
    /** The Docker network of this datacenter's LAN. */
    public readonly lanNetwork: pulumi.Output<string>;
    public readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: ConsulDatacenterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("consul-multi-dc:index:ConsulDatacenter", name, {}, opts);

        const problems = argsProblems(args);
        if (problems.length > 0) {
            throw new pulumi.ResourceError(`ConsulDatacenter ${name}: ${problems.join("; ")}`, this);
        }

        const prefix = args.namePrefix ?? "";
        const dc = datacenterModel({
            name: args.datacenter,
            primaryDatacenter: args.primaryDatacenter,
            servers: args.servers,
            clients: args.clients,
            subnet: args.subnet,
            wanAddresses: args.wan.serverAddresses,
            namePrefix: prefix,
        });
        const labels = (extra: Record<string, string>) => stackLabels({ "consul.datacenter": dc.name, ...extra });
        const hostIp = pulumi.output(args.ports.hostIp ?? "127.0.0.1");

        const lan = new docker.Network(
            `${name}-lan`,
            {
                name: `${prefix}${dc.name}-lan`,
                driver: "bridge",
                ipamConfigs: [{ subnet: dc.subnet, gateway: dc.gateway }],
                labels: labels({}),
            },
            { parent: this },
        );

        // keepLocally: a destroy never deletes the user's image.
        const image = new docker.RemoteImage(
            `${name}-image`,
            { name: args.image, keepLocally: true },
            { parent: this },
        );

        // The UI, API and DNS are published from the datacenter's first client: applications talk to their
        // local agent, never straight to servers. A datacenter without clients publishes from a server.
        const published = dc.clients[0] ?? dc.servers[0];
        const certs = datacenterCertificates(name, dc.name, dc.clients.length > 0, args.ca, { parent: this });

        const instances = args.services ? serviceInstances(dc.name, dc.subnet, args.services.settings, prefix) : [];
        const services = args.services;
        const shared: DatacenterFiles = {
            baseConfig: args.baseConfig,
            gossipKey: args.gossipKey,
            wanJoin: args.wan.join,
            caCertPem: args.ca.certPem,
            serverCert: certs.server,
            clientCert: certs.client,
            agentTokens: args.acl.agentTokens,
            initialManagementToken: args.acl.initialManagementToken,
            replicationToken: args.acl.replicationToken,
            // Services belong to their local agent: the datacenter's first client registers all of them.
            services:
                instances.length > 0 && services && dc.clients[0]
                    ? {
                          host: dc.clients[0].name,
                          definitions: pulumi.secret(pulumi.all(services.tokens).apply((tokens) => renderJson(serviceDefinitions(instances, tokens)))),
                      }
                    : undefined,
        };
        for (const agent of [...dc.servers, ...dc.clients]) {
            if (args.acl.agentTokens[agent.name] === undefined) {
                throw new pulumi.ResourceError(`ConsulDatacenter ${name}: args.acl.agentTokens has no token for ${agent.name}`, this);
            }
        }

        const formed = pulumi.output(args.formed ?? false);
        const container = (agent: AgentModel, after: pulumi.Resource | undefined) => {
            const resourceName = `${name}-${agent.role}${agent.ordinal}`;
            const data = new docker.Volume(
                `${resourceName}-data`,
                { name: `${agent.name}-data`, labels: labels({ "consul.role": agent.role }) },
                { parent: this, retainOnDelete: args.keepData === true },
            );
            return new docker.Container(
                resourceName,
                agentContainerArgs(agent, {
                    image: image.imageId,
                    labels: labels({ "consul.role": agent.role }),
                    lanNetwork: lan.name,
                    wanNetwork: args.wan.network,
                    dataVolume: data.name,
                    files: agentFiles(dc, agent, shared),
                    publish: agent === published ? { http: args.ports.http, dns: args.ports.dns, hostIp } : undefined,
                }),
                { parent: this, dependsOn: after ? formed.apply((f) => (f ? [after] : [])) : [] },
            );
        };
        // In a formed datacenter each server waits for the one before it: the engine replaces it (a
        // SIGTERM, on which a leader hands over leadership) only once the previous one is healthy again.
        // Clients go last, when every server is back: a client that restarts while a server is away
        // spends its start trying to reach that server.
        const servers: docker.Container[] = [];
        for (const agent of dc.servers) {
            servers.push(container(agent, servers[servers.length - 1]));
        }
        const clients = dc.clients.map((agent) => container(agent, servers[servers.length - 1]));
        if (instances.length > 0 && args.services) {
            // keepLocally: a destroy never deletes the user's image.
            const demoImage = new docker.RemoteImage(`${name}-demo-image`, { name: args.services.image, keepLocally: true }, { parent: this });
            serviceInstanceContainers(name, { instances, image: demoImage.imageId, network: lan.name, labels }, { parent: this });
        }

        // A URL must name a host to connect to; 0.0.0.0 means "every interface" and answers on loopback.
        const urlHost = hostIp.apply((ip) => (ip === "0.0.0.0" ? "127.0.0.1" : ip));
        this.serverNames = pulumi.all(servers.map((c) => c.name));
        this.clientNames = pulumi.all(clients.map((c) => c.name));
        this.httpAddr = pulumi.interpolate`${urlHost}:${args.ports.http}`;
        this.dnsAddr = pulumi.interpolate`${urlHost}:${args.ports.dns}`;
        this.uiUrl = pulumi.interpolate`https://${this.httpAddr}/ui/${dc.name}`;
        this.serverWanAddresses = dc.servers.map((s) => s.wanAddress as string);
        this.serverLanAddresses = dc.servers.map((s) => s.lanAddress);
        this.utilityAddress = dc.utilityAddress;
        this.lanNetwork = lan.name;
        this.imageId = image.imageId;

        this.registerOutputs({
            serverNames: this.serverNames,
            clientNames: this.clientNames,
            uiUrl: this.uiUrl,
            httpAddr: this.httpAddr,
            dnsAddr: this.dnsAddr,
            serverWanAddresses: this.serverWanAddresses,
            serverLanAddresses: this.serverLanAddresses,
            utilityAddress: this.utilityAddress,
            lanNetwork: this.lanNetwork,
            imageId: this.imageId,
        });
    }
}
