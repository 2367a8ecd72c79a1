// Every secret the federation starts with, fixed in the stack's state before any agent runs: the gossip
// key, each cluster's management token, and every ACL token's IDs, so agents start with their tokens in
// their config and the acl-init containers create exactly those.
import * as pulumi from "@pulumi/pulumi";
import { meshGatewayService } from "../model/mesh";
import type { DatacenterModel, StackModel } from "../model/stack-model";
import { appPolicyName, exampleApp, replicationPolicyName, type TokenSpec } from "../render/acl";
import { randomGossipKey, randomSecretUuid } from "./secret-random";
import { fixedToken } from "./tokens";

export interface FederationSecrets {
    readonly gossipKey: pulumi.Output<string>;
    /** The management token of a datacenter's cluster: the first datacenter's for it and its WAN datacenters. */
    readonly managementOf: (dc: DatacenterModel) => pulumi.Output<string>;
    /** Each agent's own token (its secret ID), by agent name. */
    readonly agentSecrets: Readonly<Record<string, pulumi.Output<string>>>;
    /** The token that may register each demo service, and the mesh gateways (its secret ID), by service name. */
    readonly serviceSecrets: Readonly<Record<string, pulumi.Output<string>>>;
    readonly replication: pulumi.Output<TokenSpec>;
    readonly app: pulumi.Output<TokenSpec>;
    /**
     * The tokens a cluster's acl-init creates: its agents', its services', and in the first cluster the replication
     * and app tokens.
     */
    readonly tokensOf: (cluster: DatacenterModel) => pulumi.Output<TokenSpec>[];
}

export function federationSecrets(name: string, model: StackModel, parent: pulumi.Resource): FederationSecrets {
    const child = { parent };
    // One key for every agent in every datacenter: 32 random bytes, as `consul keygen` makes.
    const gossipKey = model.gossipKey ? pulumi.secret(model.gossipKey) : randomGossipKey(`${name}-gossip-key`, child);
    const clusters = model.datacenters.filter((dc) => dc.aclInitContainer !== undefined);
    const management = Object.fromEntries(
        clusters.map((dc, i) => [
            dc.name,
            randomSecretUuid(
                i === 0 ? `${name}-acl-management-token` : `${name}-${dc.name}-acl-management-token`,
                child,
            ),
        ]),
    );

    const agents = model.datacenters.flatMap((dc) => [...dc.servers, ...dc.clients]);
    // A client waits for its tokens before its first start, so acl-init makes those first (agent-ready.ts).
    const agentTokens = agents.map((agent) =>
        fixedToken(
            `${name}-${agent.name}-token`,
            {
                description: `agent token for ${agent.name}`,
                nodeIdentity: { node: agent.name, datacenter: agent.datacenter },
                ...(agent.role === "client" ? { awaited: true } : {}),
            },
            child,
        ),
    );
    // A mesh gateway registers as a service of its own, with a token like a demo service's.
    const registered = [...model.serviceNames, ...(model.mesh?.gateways ? [meshGatewayService] : [])];
    const serviceTokens = registered.map((service) =>
        fixedToken(
            `${name}-service-${service}-token`,
            { description: `registers the ${service} service`, serviceIdentity: service, awaited: true },
            child,
        ),
    );
    const replication = fixedToken(
        `${name}-acl-replication-token`,
        { description: "ACL replication for secondary datacenters", policy: replicationPolicyName, awaited: true },
        child,
    );
    const app = fixedToken(
        `${name}-${exampleApp.service}-token`,
        { description: `${exampleApp.service} (examples/app.ts)`, policy: appPolicyName },
        child,
    );
    const secrets = (names: readonly string[], specs: pulumi.Output<TokenSpec>[]) =>
        Object.fromEntries(names.map((n, i) => [n, specs[i].apply((t) => t.secretId)]));

    const tokensOf = (cluster: DatacenterModel) => {
        const dcs = model.datacenters.filter((dc) => dc.primaryDatacenter === cluster.name);
        const agentsIn = new Set(dcs.flatMap((dc) => [...dc.servers, ...dc.clients].map((a) => a.name)));
        const servicesIn = new Set(
            dcs.flatMap((dc) => [...dc.services.map((s) => s.name), ...(dc.meshGateway ? [meshGatewayService] : [])]),
        );
        const main = cluster.name === model.primaryDatacenter;
        return [
            ...agentTokens.filter((_, i) => agentsIn.has(agents[i].name)),
            ...(main ? [replication] : []),
            ...serviceTokens.filter((_, i) => servicesIn.has(registered[i])),
            ...(main ? [app] : []),
        ];
    };
    return {
        gossipKey,
        managementOf: (dc) => management[dc.primaryDatacenter],
        agentSecrets: secrets(
            agents.map((a) => a.name),
            agentTokens,
        ),
        serviceSecrets: secrets(registered, serviceTokens),
        replication,
        app,
        tokensOf,
    };
}
