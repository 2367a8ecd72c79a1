// One readiness step per datacenter (agents-healthy.ts says why): `pulumi up` returns once every agent, demo
// service instance and Envoy proxy of every datacenter, and each cluster's acl-init, reports healthy.
import type * as pulumi from "@pulumi/pulumi";
import type { StackModel } from "../model/stack-model";
import type { AclBootstrap } from "./acl-bootstrap";
import { agentHealthySeconds } from "./agent-container";
import { AgentsHealthy } from "./agents-healthy";
import type { ConsulDatacenter } from "./consul-datacenter";
import { engineAddress } from "./docker-provider";

/**
 * By datacenter, in the model's order. Each step starts only once everything its agents need has been
 * created: its own containers, and its cluster's servers and acl-init (a secondary's servers need the
 * primary's replication token); so no step holds an engine operation while what it waits for is queued.
 */
export function datacenterReadiness(
    name: string,
    model: StackModel,
    datacenters: readonly ConsulDatacenter[],
    acls: ReadonlyMap<string, AclBootstrap>,
    parent: pulumi.Resource,
): AgentsHealthy[] {
    return model.datacenters.map((dc, i) => {
        const holder = model.datacenters.findIndex((d) => d.name === dc.primaryDatacenter);
        const acl = acls.get(dc.name);
        const clusterAcl = acls.get(dc.primaryDatacenter);
        return new AgentsHealthy(
            `${name}-${dc.name}-healthy`,
            {
                host: engineAddress(dc.host),
                containers: [
                    ...[
                        ...datacenters[i].agentContainers,
                        ...datacenters[i].instanceContainers,
                        ...datacenters[i].proxyContainers,
                    ].map((c) => ({
                        name: c.name,
                        id: c.id,
                    })),
                    ...(acl ? [{ name: acl.containerName, id: acl.containerId }] : []),
                ],
                timeoutSeconds: agentHealthySeconds,
            },
            { parent, dependsOn: [datacenters[i], datacenters[holder], ...(clusterAcl ? [clusterAcl] : [])] },
        );
    });
}
