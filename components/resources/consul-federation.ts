// The whole federation as one component: stack settings in, one compiled model, then the stack's CA,
// tokens and WAN network, one ConsulDatacenter per datacenter (the first is primary), each cluster's ACL
// bootstrap (the first datacenter's, and each peering datacenter's own), the failover queries and the
// peerings. Another Pulumi program gets a multi-datacenter Consul with `new ConsulFederation(...)`.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { compileStack } from "../model/compile";
import { ConfigProblems, DatacenterSettings, NamedFile, StackSettings } from "../model/settings";
import { DatacenterModel, StackModel } from "../model/stack-model";
import { appPolicyName, appPolicyRules, dnsPolicyName, dnsPolicyRules, replicationPolicyName, replicationPolicyRules, TokenSpec } from "../render/acl";
import { exportedServices } from "../render/peering";
import { failoverQuery } from "../render/prepared-query";
import { AclBootstrap } from "./acl-bootstrap";
import { certificateAuthority } from "./certificates";
import { ClusterPeering } from "./cluster-peering";
import { ExportedServices } from "./exported-services";
import { ConsulDatacenter } from "./consul-datacenter";
import { dockerProvider } from "./docker-provider";
import { engineParallel, parallelProblem } from "./engine-parallel";
import { FailoverQuery } from "./failover-query";
import { stackLabels } from "./labels";
import { runningCluster } from "./running-cluster";
import { randomGossipKey, randomSecretUuid } from "./secret-random";
import { defaultBaseConfigDir, readBaseConfig, readDockerCertFiles } from "./stack-files";
import { fixedToken } from "./tokens";

export interface ConsulFederationArgs {
    // Plain, not Input: the topology decides how many resources exist and their names, and every value
    // is checked at preview.
    /** Image reference of the agents, e.g. hashicorp/consul:1.22.7. */
    readonly image: string;
    /**
     * The first is the primary: it holds the ACLs every other datacenter replicates. Each may run on its
     * own Docker host (dockerHost, hostAddress); the servers then federate over the hosts' addresses.
     */
    readonly datacenters: readonly DatacenterSettings[];
    /** IPv4 CIDR of the Docker network every datacenter's servers share when they run on one Docker host. */
    readonly wanSubnet: string;
    /** Host IP the local engine's published ports bind to: 127.0.0.1 keeps them off the network. Other hosts publish on their hostAddress. */
    readonly publishAddress: string;
    /** Prefix for container, network and volume names, so stacks can share a Docker host. */
    readonly namePrefix: string;
    /** Image of the demo service instances (a static busybox httpd). */
    readonly demoImage: string;
    /** Keep the agents' data volumes on destroy, for the next `pulumi up`; needs gossipKey. */
    readonly keepData: boolean;
    /** Let the anonymous token read node and service names, so DNS answers without a token. */
    readonly dnsAnonymousRead: boolean;
    /** A prepared query template in every datacenter: <service>.query.consul, failing over to the others. */
    readonly failoverQueries: boolean;
    /** Base64 gossip key (16, 24 or 32 bytes); generated when absent. Treated as a secret. */
    readonly gossipKey?: string;
    /** KV keys written once the primary is up, from a JSON file of key → value. */
    readonly kvSeed?: NamedFile;
    /** The base config files every agent loads; the project's consul-config/ when absent. */
    readonly baseConfig?: StackSettings["baseConfig"];
}

/** The example app (examples/app.ts): its own least-privilege token reads its KV prefix and discovers services. */
const appService = "example-app";

export class ConsulFederation extends pulumi.ComponentResource {
    /** By datacenter: the HTTPS UI, e.g. https://127.0.0.1:8500/ui/dc1. */
    public readonly uiUrls: pulumi.Output<Record<string, string>>;
    /** By datacenter: host:port of the HTTPS API. */
    public readonly httpAddrs: pulumi.Output<Record<string, string>>;
    /** By datacenter: host:port of DNS (tcp and udp). */
    public readonly dnsAddrs: pulumi.Output<Record<string, string>>;
    /** By datacenter: the server and client container names. */
    public readonly containers: pulumi.Output<Record<string, { servers: string[]; clients: string[] }>>;
    /** Demo service names by datacenter. */
    public readonly services: pulumi.Output<Record<string, string[]>>;
    /** Where ACLs and the KV seed live. Fails when the running cluster cannot take the change. */
    public readonly primaryDatacenter: pulumi.Output<string>;
    /** A secret. */
    public readonly gossipKey: pulumi.Output<string>;
    /** The initial management token of the first datacenter and the WAN datacenters; a secret. */
    public readonly aclBootstrapToken: pulumi.Output<string>;
    /** By datacenter: the management token of its cluster (a peering datacenter has its own); a secret. */
    public readonly aclBootstrapTokens: pulumi.Output<Record<string, string>>;
    /** By peering datacenter: the state of its peering with the first datacenter on each side, e.g. { dc3: { dc1: "ACTIVE", dc3: "ACTIVE" } }. */
    public readonly peerings: pulumi.Output<Record<string, Record<string, string>>>;
    /** The example app's least-privilege token; a secret. */
    public readonly appToken: pulumi.Output<string>;
    public readonly appKvPrefix: pulumi.Output<string>;
    /** Trust it to reach the HTTPS UI and API: `curl --cacert`, or a browser's certificate store. */
    public readonly caCertPem: pulumi.Output<string>;

    constructor(name: string, args: ConsulFederationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("consul-multi-dc:index:ConsulFederation", name, {}, opts);
        const model = this.compile(args);
        // Each cluster has its own ACLs: the first datacenter's (with the WAN datacenters that replicate them),
        // and each peering datacenter's.
        const clusters = model.datacenters.filter((dc) => dc.primaryDatacenter === dc.name);
        // Every agent, and each cluster's acl-init.
        const waiting = model.datacenters.reduce((n, dc) => n + dc.servers.length + dc.clients.length, clusters.length);
        const tooFew = parallelProblem(waiting, engineParallel());
        if (tooFew) {
            throw new pulumi.ResourceError(tooFew, this, true);
        }
        model.warnings.forEach((w) => pulumi.log.warn(w, this));
        const child = { parent: this };

        // One key for every agent in every datacenter: 32 random bytes, as `consul keygen` makes.
        this.gossipKey = model.gossipKey ? pulumi.secret(model.gossipKey) : randomGossipKey(`${name}-gossip-key`, child);
        this.aclBootstrapToken = randomSecretUuid(`${name}-acl-management-token`, child);
        const managementTokens = Object.fromEntries(clusters.map((dc, i) =>
            [dc.name, i === 0 ? this.aclBootstrapToken : randomSecretUuid(`${name}-${dc.name}-acl-management-token`, child)]));
        const managementOf = (dc: DatacenterModel) => managementTokens[dc.primaryDatacenter];
        const tokens = this.tokens(name, model);
        const ca = certificateAuthority(`${name}-ca`, child);
        // On one Docker host a bridge network stands in for the WAN; across hosts the servers federate over
        // the hosts' addresses instead.
        const wan = model.acrossHosts
            ? undefined
            : new docker.Network(`${name}-wan`, {
                  name: model.wan.networkName,
                  driver: "bridge",
                  ipamConfigs: [{ subnet: model.wan.subnet.text, gateway: model.wan.gateway }],
                  labels: stackLabels({ "consul.role": "wan" }),
              }, child);
        // Each datacenter's resources, and the reads of what runs there, go through its own host's engine.
        const providers = model.datacenters.map((dc) => dockerProvider(`${name}-${dc.name}-docker`, dc.host, child));
        const providerOf = (i: number) => (providers[i] ? [providers[i]] : []);

        // What runs now: a running datacenter's servers are replaced one at a time, and a change the running
        // cluster cannot take is refused before any datacenter is touched.
        const running = runningCluster(model, providers, child);
        const datacenters = model.datacenters.map((dc, i) => new ConsulDatacenter(`${name}-${dc.name}`, {
            model: dc,
            namePrefix: model.namePrefix,
            formed: running.formed.apply((names) => names.includes(dc.name)),
            keepData: model.keepData,
            baseConfig: model.baseConfig,
            image: model.image,
            gossipKey: this.gossipKey,
            wanNetwork: wan?.name,
            ca,
            acl: clusters.includes(dc)
                ? { agentTokens: tokens.agentSecrets, initialManagementToken: managementOf(dc) }
                : { agentTokens: tokens.agentSecrets, replicationToken: tokens.replication.apply((t) => t.secretId) },
            services: { image: model.demoImage, tokens: tokens.serviceSecrets },
        }, { parent: this, dependsOn: running.checked, providers: providerOf(i) }));

        // Creates every token of a cluster in its primary once its servers elect a leader; healthy when all exist.
        const acls = clusters.map((primary) => {
            const main = primary.name === model.primaryDatacenter;
            const i = model.datacenters.indexOf(primary);
            return new AclBootstrap(main ? `${name}-acl` : `${name}-${primary.name}-acl`, {
                datacenter: primary.name,
                image: datacenters[i].imageId,
                network: datacenters[i].lanNetwork,
                address: primary.utilityAddress,
                serverAddresses: primary.servers.map((s) => s.lanAddress),
                caCertPem: ca.certPem,
                managementToken: managementOf(primary),
                tokens: tokens.of(primary.name),
                policies: [
                    ...(main ? [{ name: replicationPolicyName, rules: replicationPolicyRules }] : []),
                    ...(model.dnsAnonymousRead ? [{ name: dnsPolicyName, rules: dnsPolicyRules }] : []),
                    ...(main ? [{ name: appPolicyName, rules: appPolicyRules({ service: appService, kvPrefix: `${appService}/`, discovers: model.serviceNames, fromPeers: model.peered }) }] : []),
                ],
                anonymous: { policy: dnsPolicyName, grant: model.dnsAnonymousRead },
                kv: main ? model.kvSeed : [],
                containerName: primary.aclInitContainer as string,
            }, { parent: this, dependsOn: running.checked, providers: providerOf(i) });
        });
        const aclOf = (dc: DatacenterModel) => acls[clusters.findIndex((c) => c.name === dc.primaryDatacenter)];

        // <service>.query.consul in every datacenter, failing over to the others of its cluster in stack order.
        if (model.failoverQueries) {
            model.datacenters.forEach((dc, i) => new FailoverQuery(`${name}-${dc.name}-failover-query`, {
                httpAddr: datacenters[i].httpAddr,
                caPem: ca.certPem,
                token: managementOf(dc),
                datacenter: dc.name,
                definition: failoverQuery(dc.name, model.datacenters.filter((d) => d.primaryDatacenter === dc.primaryDatacenter).map((d) => d.name)),
            }, { parent: this, dependsOn: [datacenters[i], aclOf(dc)] }));
        }

        // Each peering datacenter peers with the first. Each side exports its demo services to the other: the
        // first datacenter's one entry names every peer.
        const first = model.datacenters[0];
        const peers = model.datacenters.filter((dc) => dc.federation === "peering");
        const exported = (dc: DatacenterModel, i: number, to: readonly string[]) =>
            dc.services.length > 0
                ? [new ExportedServices(`${name}-${dc.name}-exported-services`, {
                      httpAddr: datacenters[i].httpAddr,
                      caPem: ca.certPem,
                      token: managementOf(dc),
                      datacenter: dc.name,
                      entry: exportedServices(dc.services.map((s) => s.name), to),
                  }, { parent: this, dependsOn: [datacenters[i], aclOf(dc)] })]
                : [];
        if (peers.length > 0) {
            exported(first, 0, peers.map((p) => p.name));
        }
        const peerings = model.datacenters.flatMap((dc, i) => {
            if (dc.federation !== "peering") {
                return [];
            }
            exported(dc, i, [first.name]);
            const side = (d: DatacenterModel, j: number) => ({ httpAddr: datacenters[j].httpAddr, datacenter: d.name, token: managementOf(d) });
            const peering = new ClusterPeering(`${name}-${dc.name}-peering`, {
                caPem: ca.certPem,
                acceptor: side(first, 0),
                dialer: side(dc, i),
                serverAddresses: first.peeringAddresses,
            }, { parent: this, dependsOn: [datacenters[0], datacenters[i], aclOf(first), aclOf(dc)] });
            return [[dc.name, peering.states] as const];
        });

        const byDatacenter = <T>(pick: (dc: ConsulDatacenter) => pulumi.Output<T>) =>
            pulumi.all(Object.fromEntries(model.datacenters.map((dc, i) => [dc.name, pick(datacenters[i])])));
        this.uiUrls = byDatacenter((dc) => dc.uiUrl);
        this.httpAddrs = byDatacenter((dc) => dc.httpAddr);
        this.dnsAddrs = byDatacenter((dc) => dc.dnsAddr);
        this.containers = byDatacenter((dc) => pulumi.all([dc.serverNames, dc.clientNames]).apply(([servers, clients]) => ({ servers, clients })));
        this.peerings = pulumi.all(Object.fromEntries(peerings));
        this.aclBootstrapTokens = pulumi.secret(pulumi.all(Object.fromEntries(model.datacenters.map((dc) => [dc.name, managementOf(dc)]))));
        this.services = pulumi.output(Object.fromEntries(model.datacenters.map((dc) => [dc.name, dc.services.map((s) => s.name)])));
        // A refused change fails this output too, so the program fails while its outputs are pending, which
        // is when Pulumi prints a RunError's message without a stack trace.
        this.primaryDatacenter = running.checked.apply(() => model.primaryDatacenter);
        this.appToken = pulumi.secret(tokens.app.apply((t) => t.secretId));
        this.appKvPrefix = pulumi.output(`${appService}/`);
        this.caCertPem = ca.certPem;
        this.registerOutputs({
            uiUrls: this.uiUrls, httpAddrs: this.httpAddrs, dnsAddrs: this.dnsAddrs, containers: this.containers, services: this.services,
            peerings: this.peerings, primaryDatacenter: this.primaryDatacenter, gossipKey: this.gossipKey,
            aclBootstrapToken: this.aclBootstrapToken, aclBootstrapTokens: this.aclBootstrapTokens,
            appToken: this.appToken, appKvPrefix: this.appKvPrefix, caCertPem: this.caCertPem,
        });
    }

    /** Every problem with the args, listed at once in one error that names each key. */
    private compile(args: ConsulFederationArgs): StackModel {
        try {
            return compileStack({
                ...args,
                baseConfig: args.baseConfig ?? readBaseConfig(defaultBaseConfigDir, "."),
                dockerCertFiles: Array.isArray(args.datacenters) ? readDockerCertFiles(args.datacenters) : {},
            });
        } catch (e) {
            throw e instanceof ConfigProblems ? new pulumi.ResourceError(e.message, this, true) : e;
        }
    }

    /**
     * Every token's secret ID is fixed in advance, so agents start with their tokens in their config: one
     * per agent (a node identity), the replication token, one per demo service name (a service identity,
     * shared by every datacenter that runs it) and the example app's.
     */
    private tokens(name: string, model: StackModel) {
        const child = { parent: this };
        const agents = model.datacenters.flatMap((dc) => [...dc.servers, ...dc.clients]);
        // A client waits for its tokens before its first start, so acl-init makes those first (agent-ready.ts).
        const agentTokens = agents.map((agent) => fixedToken(`${name}-${agent.name}-token`, {
            description: `agent token for ${agent.name}`,
            nodeIdentity: { node: agent.name, datacenter: agent.datacenter },
            ...(agent.role === "client" ? { awaited: true } : {}),
        }, child));
        const serviceTokens = model.serviceNames.map((service) =>
            fixedToken(`${name}-service-${service}-token`, { description: `registers the ${service} service`, serviceIdentity: service, awaited: true }, child));
        const replication = fixedToken(`${name}-acl-replication-token`, { description: "ACL replication for secondary datacenters", policy: replicationPolicyName, awaited: true }, child);
        const app = fixedToken(`${name}-${appService}-token`, { description: `${appService} (examples/app.ts)`, policy: appPolicyName }, child);
        const secrets = (names: readonly string[], specs: pulumi.Output<TokenSpec>[]) =>
            Object.fromEntries(names.map((n, i) => [n, specs[i].apply((t) => t.secretId)]));
        /** The tokens a cluster's acl-init creates: its agents', its services', and in the first cluster the replication and app tokens. */
        const of = (primary: string) => {
            const dcs = model.datacenters.filter((dc) => dc.primaryDatacenter === primary);
            const agentsIn = new Set(dcs.flatMap((dc) => [...dc.servers, ...dc.clients].map((a) => a.name)));
            const servicesIn = new Set(dcs.flatMap((dc) => dc.services.map((s) => s.name)));
            const main = primary === model.primaryDatacenter;
            return [
                ...agentTokens.filter((_, i) => agentsIn.has(agents[i].name)),
                ...(main ? [replication] : []),
                ...serviceTokens.filter((_, i) => servicesIn.has(model.serviceNames[i])),
                ...(main ? [app] : []),
            ];
        };
        return {
            agentSecrets: secrets(agents.map((a) => a.name), agentTokens),
            serviceSecrets: secrets(model.serviceNames, serviceTokens),
            replication,
            app,
            of,
        };
    }
}
