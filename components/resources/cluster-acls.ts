// Each cluster's ACL bootstrap: the first datacenter's (whose tokens its WAN datacenters replicate) and each
// peering datacenter's own. Its acl-init container makes the cluster's policies and tokens once its servers
// elect a leader, and seeds KV in the first datacenter.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { DatacenterModel, StackModel } from "../model/stack-model";
import { clusterPolicies, dnsPolicyName } from "../render/acl";
import { AclBootstrap } from "./acl-bootstrap";
import type { CertificatePem } from "./certificates";
import type { ConsulDatacenter } from "./consul-datacenter";
import type { FederationSecrets } from "./federation-secrets";

export interface ClusterAclsArgs {
    readonly datacenters: readonly ConsulDatacenter[];
    readonly secrets: FederationSecrets;
    readonly ca: CertificatePem;
    readonly providers: readonly (docker.Provider | undefined)[];
    /** What every resource of the stack waits on: the running cluster's check (running-cluster.ts). */
    readonly checked: pulumi.Input<pulumi.Resource[]>;
}

/** By the name of each datacenter that holds its cluster's ACLs. */
export function clusterAcls(
    name: string,
    model: StackModel,
    args: ClusterAclsArgs,
    parent: pulumi.Resource,
): ReadonlyMap<string, AclBootstrap> {
    const acls = new Map<string, AclBootstrap>();
    model.datacenters.forEach((cluster: DatacenterModel, i) => {
        if (cluster.aclInitContainer === undefined) {
            return;
        }
        const main = cluster.name === model.primaryDatacenter;
        const provider = args.providers[i];
        acls.set(
            cluster.name,
            new AclBootstrap(
                main ? `${name}-acl` : `${name}-${cluster.name}-acl`,
                {
                    datacenter: cluster.name,
                    image: args.datacenters[i].imageId,
                    network: args.datacenters[i].lanNetwork,
                    address: cluster.utilityAddress,
                    serverAddresses: cluster.servers.map((s) => s.lanAddress),
                    caCertPem: args.ca.certPem,
                    managementToken: args.secrets.managementOf(cluster),
                    tokens: args.secrets.tokensOf(cluster),
                    policies: clusterPolicies(model, cluster),
                    anonymous: { policy: dnsPolicyName, grant: model.dnsAnonymousRead },
                    kv: main ? model.kvSeed : [],
                    containerName: cluster.aclInitContainer,
                },
                { parent, dependsOn: args.checked, providers: provider ? [provider] : [] },
            ),
        );
    });
    return acls;
}
