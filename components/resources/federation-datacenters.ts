// Every datacenter of the federation: the WAN network when they share one Docker host, and one
// ConsulDatacenter each, on its own host's engine, with the secrets and certificates it starts with.
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { StackModel } from "../model/stack-model";
import type { CertificatePem } from "./certificates";
import { ConsulDatacenter } from "./consul-datacenter";
import type { FederationSecrets } from "./federation-secrets";
import { stackLabels } from "./labels";
import type { RunningCluster } from "./running-cluster";

export interface FederationDatacentersArgs {
    readonly secrets: FederationSecrets;
    readonly ca: CertificatePem;
    /** Each datacenter's Docker provider, in the model's order; undefined for the local engine. */
    readonly providers: readonly (docker.Provider | undefined)[];
    readonly running: RunningCluster;
}

/** In the model's order. */
export function federationDatacenters(
    name: string,
    model: StackModel,
    args: FederationDatacentersArgs,
    parent: pulumi.Resource,
): ConsulDatacenter[] {
    const { secrets, running } = args;
    // On one Docker host a bridge network stands in for the WAN; across hosts the servers federate over
    // the hosts' addresses instead.
    const wan = model.acrossHosts
        ? undefined
        : new docker.Network(
              `${name}-wan`,
              {
                  name: model.wan.networkName,
                  driver: "bridge",
                  ipamConfigs: [{ subnet: model.wan.subnet.text, gateway: model.wan.gateway }],
                  labels: stackLabels({ "consul.role": "wan" }),
              },
              { parent },
          );
    return model.datacenters.map((dc, i) => {
        const provider = args.providers[i];
        const holdsAcls = dc.aclInitContainer !== undefined;
        return new ConsulDatacenter(
            `${name}-${dc.name}`,
            {
                model: dc,
                stack: model,
                formed: running.formed.apply((names) => names.includes(dc.name)),
                wanNetwork: wan?.name,
                ca: args.ca,
                gossipKey: secrets.gossipKey,
                agentTokens: secrets.agentSecrets,
                serviceTokens: secrets.serviceSecrets,
                initialManagementToken: holdsAcls ? secrets.managementOf(dc) : undefined,
                replicationToken: holdsAcls ? undefined : secrets.replication.apply((t) => t.secretId),
            },
            // A change the running cluster cannot take is refused before any datacenter is touched.
            { parent, dependsOn: running.checked, providers: provider ? [provider] : [] },
        );
    });
}
