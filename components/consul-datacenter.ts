import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { aclTokensConfig } from "./acl";
import { agentReadyScript, readyScriptPath } from "./agent-ready";
import { agentConfig, baseConfigFiles, configDir, gossipConfig, renderJson, tlsDir } from "./agent-config";
import { issueCertificate } from "./certificates";
import { shellHealthcheck } from "./healthcheck";
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
    /** The stack's CA: it signs this datacenter's server and HTTPS certificates. */
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

const baseConfigDir = path.join(__dirname, "..", "consul-config");
const startScript = fs.readFileSync(path.join(__dirname, "agent-start.sh"), "utf8");
const startScriptPath = "/consul/bin/agent-start.sh";

// The healthcheck uses only what the official image ships (busybox wget): healthy once the agent
// knows its datacenter's Raft leader, which is when it can serve reads and writes.
const agentHealthcheck = shellHealthcheck("wget -q -O - http://127.0.0.1:8500/v1/status/leader | grep -q ':8300'", {
    interval: 2,
    timeout: 2,
    startPeriod: 60,
    retries: 5,
});

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
        const serviceNames = new Set((args.services?.settings ?? []).map((s) => s.name));
        const untokened = [...serviceNames].filter((s) => args.services?.tokens[s] === undefined);
        if (untokened.length > 0) {
            problems.push(`args.services.tokens has no token for ${untokened.join(", ")}`);
        }
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

        const gossipFile = pulumi.secret(pulumi.output(args.gossipKey).apply((key) => renderJson(gossipConfig(key))));
        // The UI, API and DNS are published from the datacenter's first client: applications talk to their
        // local agent, never straight to servers. A datacenter without clients publishes from a server.
        const published = dc.clients[0] ?? dc.servers[0];
        const local = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] };
        const serverCert = issueCertificate(
            `${name}-server-cert`,
            args.ca,
            { commonName: `server.${dc.name}.consul`, dnsNames: [`server.${dc.name}.consul`, ...local.dnsNames], ipAddresses: local.ipAddresses },
            { parent: this },
        );
        const httpsCert =
            dc.clients.length > 0
                ? issueCertificate(
                      `${name}-https-cert`,
                      args.ca,
                      { commonName: `client.${dc.name}.consul`, dnsNames: [`client.${dc.name}.consul`, ...local.dnsNames], ipAddresses: local.ipAddresses },
                      { parent: this },
                  )
                : undefined;
        const tlsFiles = (agent: AgentModel) => {
            const cert = agent.role === "server" ? serverCert : (httpsCert as typeof serverCert);
            const base = agent.role === "server" ? "server" : "https";
            return [
                { file: `${tlsDir}/ca.pem`, content: pulumi.output(args.ca.certPem) },
                { file: `${tlsDir}/${base}.pem`, content: cert.certPem },
                { file: `${tlsDir}/${base}-key.pem`, content: cert.privateKeyPem },
            ];
        };

        const instances = args.services ? serviceInstances(dc.name, dc.subnet, args.services.settings, prefix) : [];
        const servicesFile =
            instances.length > 0 && args.services
                ? pulumi.secret(pulumi.all(args.services.tokens).apply((tokens) => renderJson(serviceDefinitions(instances, tokens))))
                : undefined;
        // Services belong to their local agent: the datacenter's first client registers all of them.
        const servicesHost = dc.clients[0];

        const container = (agent: AgentModel) => {
            const resourceName = `${name}-${agent.role}${agent.ordinal}`;
            // Raft data, node ID and keyring outlive a container replacement on their own volume.
            const data = new docker.Volume(
                `${resourceName}-data`,
                { name: `${agent.name}-data`, labels: labels({ "consul.role": agent.role }) },
                { parent: this },
            );
            const agentToken = args.acl.agentTokens[agent.name];
            if (agentToken === undefined) {
                throw new pulumi.ResourceError(`ConsulDatacenter ${name}: args.acl.agentTokens has no token for ${agent.name}`, this);
            }
            const isServer = agent.role === "server";
            const tokensFile = pulumi
                .all([agentToken, isServer ? args.acl.initialManagementToken : undefined, isServer ? args.acl.replicationToken : undefined])
                .apply(([agentToken, initialManagement, replication]) =>
                    renderJson(aclTokensConfig({ agent: agentToken, initialManagement, replication })),
                );
            const agentFile = pulumi
                .output(args.wan.join)
                .apply((join) => renderJson(agentConfig(dc, agent, isServer ? join : [])));
            // What this agent waits for on its first start (nothing for the primary's servers).
            const readyScript = agentReadyScript(dc, agent, []) === undefined
                ? undefined
                : pulumi.output(args.wan.join).apply((join) => agentReadyScript(dc, agent, join) as string);
            const networks = [{ name: lan.name, ipv4Address: agent.lanAddress, aliases: [agent.name] }];
            if (agent.wanAddress) {
                networks.push({ name: pulumi.output(args.wan.network), ipv4Address: agent.wanAddress, aliases: [agent.name] });
            }
            return new docker.Container(
                resourceName,
                {
                    name: agent.name,
                    hostname: agent.name,
                    image: image.imageId,
                    // Explicit, so behaviour does not depend on the image's entrypoint script: a check of the
                    // gossip keyring, then `consul agent -config-dir=/consul/config`.
                    entrypoints: ["/bin/sh"],
                    command: [startScriptPath],
                    user: "consul",
                    restart: "unless-stopped",
                    labels: labels({ "consul.role": agent.role }),
                    networksAdvanced: networks,
                    volumes: [{ volumeName: data.name, containerPath: "/consul/data" }],
                    uploads: [
                        ...baseConfigFiles[agent.role].map((file) => ({
                            file: `${configDir}/${file}`,
                            content: fs.readFileSync(path.join(baseConfigDir, file), "utf8"),
                        })),
                        { file: `${configDir}/agent.json`, content: agentFile },
                        { file: `${configDir}/gossip.json`, content: gossipFile },
                        { file: `${configDir}/acl-tokens.json`, content: pulumi.secret(tokensFile) },
                        ...tlsFiles(agent),
                        { file: startScriptPath, content: startScript },
                        ...(readyScript ? [{ file: readyScriptPath, content: readyScript }] : []),
                        ...(agent === servicesHost && servicesFile ? [{ file: `${configDir}/services.json`, content: servicesFile }] : []),
                    ],
                    ports:
                        agent === published
                            ? [
                                  { internal: 8501, external: args.ports.http, ip: hostIp, protocol: "tcp" },
                                  { internal: 8600, external: args.ports.dns, ip: hostIp, protocol: "tcp" },
                                  { internal: 8600, external: args.ports.dns, ip: hostIp, protocol: "udp" },
                              ]
                            : [],
                    healthcheck: agentHealthcheck,
                    // `pulumi up` returns once every agent is healthy, i.e. the cluster has formed.
                    wait: true,
                    waitTimeout: 180,
                },
                { parent: this },
            );
        };
        const servers = dc.servers.map(container);
        const clients = dc.clients.map(container);
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
