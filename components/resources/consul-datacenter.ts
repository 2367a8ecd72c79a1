// One Consul datacenter on Docker, from its model (model/compile.ts): its LAN network, its image, the
// certificates of its servers and clients, and a container per agent and per demo service instance.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { federationOption } from "../model/running-shape";
import type { AgentModel, DatacenterModel, StackModel } from "../model/stack-model";
import { renderJson } from "../render/agent-config";
import { serviceDefinitions } from "../render/service-definitions";
import { agentContainerArgs, agentHealthySeconds } from "./agent-container";
import { agentFiles, type DatacenterFiles } from "./agent-files";
import { AgentsHealthy } from "./agents-healthy";
import { type CertificatePem, datacenterCertificates } from "./certificates";
import { engineAddress } from "./docker-provider";
import { imageOnHost } from "./image-on-host";
import { stackLabels } from "./labels";
import { gatewayContainer, type MeshProxyArgs, sidecarContainer } from "./mesh-proxies";
import { serviceInstanceContainers } from "./service-instances";

export interface ConsulDatacenterArgs {
    /** The datacenter as compileStack laid it out: agents, addresses, published ports, service instances. */
    readonly model: DatacenterModel;
    /** What every datacenter shares: the images, the base config files, keepData. */
    readonly stack: Pick<StackModel, "image" | "demoImage" | "envoyImage" | "baseConfig" | "keepData" | "mesh">;
    /**
     * The datacenter already runs: the stack deployed it before. A change that replaces its servers then
     * replaces them one at a time, each back as a voter before the next goes. A new datacenter starts all
     * its servers at once, since none can elect a leader before bootstrap_expect of them run.
     */
    readonly formed?: pulumi.Input<boolean>;
    /** The Docker network every datacenter's servers share, the WAN; none when datacenters span Docker hosts. */
    readonly wanNetwork?: pulumi.Input<string>;
    /** The stack's CA: it signs this datacenter's server and client certificates. */
    readonly ca: CertificatePem;
    /** Base64 gossip encryption key, shared by every agent of every datacenter. Treated as a secret. */
    readonly gossipKey: pulumi.Input<string>;
    /** Each agent's own token (its secret ID), by agent name. */
    readonly agentTokens: Readonly<Record<string, pulumi.Input<string>>>;
    /** The token that may register each demo service (its secret ID), by service name. */
    readonly serviceTokens: Readonly<Record<string, pulumi.Input<string>>>;
    /** A datacenter that holds its cluster's ACLs only: the management token its servers bootstrap ACLs with. */
    readonly initialManagementToken?: pulumi.Input<string>;
    /** WAN secondary datacenters only: the token their servers replicate ACLs with. */
    readonly replicationToken?: pulumi.Input<string>;
}

export class ConsulDatacenter extends pulumi.ComponentResource {
    public readonly serverNames: pulumi.Output<string[]>;
    public readonly clientNames: pulumi.Output<string[]>;
    /** e.g. https://127.0.0.1:8500/ui/dc1 */
    public readonly uiUrl: pulumi.Output<string>;
    /** host:port of the HTTPS API. */
    public readonly httpAddr: pulumi.Output<string>;
    /** host:port of the DNS interface (tcp and udp). */
    public readonly dnsAddr: pulumi.Output<string>;
    /** The Docker network of this datacenter's LAN. */
    public readonly lanNetwork: pulumi.Output<string>;
    public readonly imageId: pulumi.Output<string>;
    /** Every agent's container, servers first. */
    public readonly agentContainers: readonly docker.Container[];
    /** The demo service instances' containers. */
    public readonly instanceContainers: readonly docker.Container[];
    /** The mesh's Envoy containers: the instances' sidecars and the mesh gateway. */
    public readonly proxyContainers: readonly docker.Container[];
    /** The URL of its first published instance that calls an upstream through the mesh, if any. */
    public readonly meshDemoUrl?: pulumi.Output<string>;

    constructor(name: string, args: ConsulDatacenterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("consul-multi-dc:index:ConsulDatacenter", name, {}, opts);
        const dc = args.model;
        const labels = (extra: Record<string, string>) => stackLabels({ "consul.datacenter": dc.name, ...extra });
        const hostIp = pulumi.output(dc.publishAddress);

        const lan = new docker.Network(
            `${name}-lan`,
            {
                name: dc.lanNetworkName,
                driver: "bridge",
                ipamConfigs: [{ subnet: dc.subnet.text, gateway: dc.gateway }],
                labels: labels({}),
                // The preview reads a running datacenter's federation here (Docker's network data source returns
                // options, not labels); WAN datacenters have none, so stacks without peering keep their networks.
                ...(dc.federation === "peering" ? { options: { [federationOption]: "peering" } } : {}),
            },
            { parent: this },
        );
        // keepLocally: a destroy never deletes the user's image.
        const image = new docker.RemoteImage(
            `${name}-image`,
            { name: imageOnHost(dc, args.stack.image, this), keepLocally: true },
            { parent: this },
        );
        const { servers, clients } = this.agents(name, args, { image: image.imageId, lan: lan.name, hostIp, labels });
        const { sidecars, gateway } = this.proxies(name, args, { lan: lan.name, hostIp, labels });
        this.proxyContainers = [...sidecars.values(), ...(gateway ? [gateway] : [])];
        this.instanceContainers = [];
        if (dc.instances.length > 0) {
            const demoImage = new docker.RemoteImage(
                `${name}-demo-image`,
                { name: imageOnHost(dc, args.stack.demoImage, this), keepLocally: true },
                { parent: this },
            );
            this.instanceContainers = serviceInstanceContainers(
                name,
                { instances: dc.instances, image: demoImage.imageId, network: lan.name, labels, sidecars, hostIp },
                { parent: this },
            );
        }

        // A URL must name a host to connect to; 0.0.0.0 means "every interface" and answers on loopback.
        const urlHost = hostIp.apply((ip) => (ip === "0.0.0.0" ? "127.0.0.1" : ip));
        this.serverNames = pulumi.all(servers.map((c) => c.name));
        this.clientNames = pulumi.all(clients.map((c) => c.name));
        this.httpAddr = pulumi.interpolate`${urlHost}:${dc.ports.http}`;
        this.dnsAddr = pulumi.interpolate`${urlHost}:${dc.ports.dns}`;
        this.uiUrl = pulumi.interpolate`https://${this.httpAddr}/ui/${dc.name}`;
        const demo = dc.instances.find((i) => i.sidecar?.upstream && i.publishPort !== undefined);
        this.meshDemoUrl = demo ? pulumi.interpolate`http://${urlHost}:${demo.publishPort}/` : undefined;
        this.lanNetwork = lan.name;
        this.imageId = image.imageId;
        this.agentContainers = [...servers, ...clients];
        this.registerOutputs({
            serverNames: this.serverNames,
            clientNames: this.clientNames,
            uiUrl: this.uiUrl,
            httpAddr: this.httpAddr,
            dnsAddr: this.dnsAddr,
            lanNetwork: this.lanNetwork,
            imageId: this.imageId,
        });
    }

    /** In the mesh: a sidecar per demo service instance, by instance ID, and the mesh gateway. */
    private proxies(
        name: string,
        args: ConsulDatacenterArgs,
        on: Pick<MeshProxyArgs, "hostIp" | "labels"> & { lan: pulumi.Input<string> },
    ): { sidecars: Map<string, docker.Container>; gateway?: docker.Container } {
        const dc = args.model;
        if (!dc.inMesh) {
            return { sidecars: new Map() };
        }
        const envoyImage = new docker.RemoteImage(
            `${name}-envoy-image`,
            { name: imageOnHost(dc, args.stack.envoyImage, this), keepLocally: true },
            { parent: this },
        );
        const proxyArgs: MeshProxyArgs = {
            ...on,
            dc,
            image: envoyImage.imageId,
            lanNetwork: on.lan,
            wanNetwork: args.wanNetwork,
            caPem: args.ca.certPem,
            serviceTokens: args.serviceTokens,
        };
        const sidecars = new Map(
            dc.instances.flatMap((i) =>
                i.sidecar
                    ? [[i.id, sidecarContainer(name, { ...i, sidecar: i.sidecar }, proxyArgs, { parent: this })]]
                    : [],
            ),
        );
        const gateway = dc.meshGateway
            ? gatewayContainer(name, dc.meshGateway, proxyArgs, { parent: this })
            : undefined;
        return { sidecars, gateway };
    }

    /** What every agent of the datacenter starts with: base config, secrets, certificates, services. */
    private sharedFiles(name: string, args: ConsulDatacenterArgs): DatacenterFiles {
        const dc = args.model;
        // On another Docker host the API is published on the host's address, so the certificate names it too.
        const published =
            dc.host.endpoint !== undefined && dc.publishAddress !== "127.0.0.1" ? [dc.publishAddress] : [];
        const certs = datacenterCertificates(
            name,
            dc.name,
            { withClients: dc.clients.length > 0, ipAddresses: published },
            args.ca,
            { parent: this },
        );
        return {
            baseConfig: args.stack.baseConfig,
            gossipKey: args.gossipKey,
            caCertPem: args.ca.certPem,
            serverCert: certs.server,
            clientCert: certs.client,
            agentTokens: args.agentTokens,
            initialManagementToken: args.initialManagementToken,
            replicationToken: args.replicationToken,
            mesh: dc.inMesh,
            // Services belong to their local agent: the datacenter's first client registers all of them.
            services:
                (dc.instances.length > 0 || dc.meshGateway) && dc.clients[0]
                    ? {
                          host: dc.clients[0].name,
                          definitions: pulumi.secret(
                              pulumi
                                  .all(args.serviceTokens)
                                  .apply((tokens) =>
                                      renderJson(serviceDefinitions(dc.instances, tokens, dc.meshGateway)),
                                  ),
                          ),
                      }
                    : undefined,
        };
    }

    /** A data volume and a container per agent, in the order a running datacenter replaces them. */
    private agents(
        name: string,
        args: ConsulDatacenterArgs,
        on: {
            image: pulumi.Input<string>;
            lan: pulumi.Input<string>;
            hostIp: pulumi.Input<string>;
            labels: (extra: Record<string, string>) => ReturnType<typeof stackLabels>;
        },
    ): { servers: docker.Container[]; clients: docker.Container[] } {
        const dc = args.model;
        const shared = this.sharedFiles(name, args);
        const formed = pulumi.output(args.formed ?? false);
        const container = (agent: AgentModel, after: AgentsHealthy | undefined) => {
            const resourceName = `${name}-${agent.role}${agent.ordinal}`;
            const data = new docker.Volume(
                `${resourceName}-data`,
                { name: agent.dataVolume, labels: on.labels({ "consul.role": agent.role }) },
                { parent: this, retainOnDelete: args.stack.keepData },
            );
            return new docker.Container(
                resourceName,
                agentContainerArgs(agent, {
                    image: on.image,
                    labels: on.labels({ "consul.role": agent.role }),
                    lanNetwork: on.lan,
                    wanNetwork: args.wanNetwork,
                    dataVolume: data.name,
                    files: agentFiles(dc, agent, shared),
                    publish: agent === dc.published ? { ...dc.ports, hostIp: on.hostIp } : undefined,
                    serverRpcPorts: [...new Set(dc.servers.map((s) => s.hostPorts?.server ?? 8300))],
                }),
                { parent: this, dependsOn: after ? formed.apply((f) => (f ? [after] : [])) : [] },
            );
        };
        // In a formed datacenter each server waits for the one before it to be healthy again: the engine
        // replaces it (a SIGTERM, on which a leader hands over leadership) only then. Clients go last, when
        // every server is back: a client that restarts while a server is away spends its start trying to
        // reach that server. A forming datacenter starts every agent at once (none can elect a leader before
        // bootstrap_expect servers run), and the federation's readiness step waits for all of them.
        const servers: docker.Container[] = [];
        let back: AgentsHealthy | undefined;
        for (const agent of dc.servers) {
            const server = container(agent, back);
            servers.push(server);
            back = new AgentsHealthy(
                `${name}-${agent.role}${agent.ordinal}-healthy`,
                {
                    host: engineAddress(dc.host),
                    containers: [{ name: server.name, id: server.id }],
                    wait: formed,
                    timeoutSeconds: agentHealthySeconds,
                },
                { parent: this },
            );
        }
        return { servers, clients: dc.clients.map((agent) => container(agent, back)) };
    }
}
