// What the federation sets up through each datacenter's published HTTPS API once its agents are healthy
// (dynamic resources, as failover-query.ts says why): the failover query templates, the mesh's config
// entries, and each peering with the services both sides export.
import * as pulumi from "@pulumi/pulumi";
import type { DatacenterModel, StackModel } from "../model/stack-model";
import { meshConfigEntries, serviceIntentions } from "../render/mesh";
import { exportedServices } from "../render/peering";
import { failoverQuery } from "../render/prepared-query";
import type { AgentsHealthy } from "./agents-healthy";
import type { CertificatePem } from "./certificates";
import { ClusterPeering } from "./cluster-peering";
import { ConfigEntry, IntentionsSweep } from "./config-entry";
import type { ConsulDatacenter } from "./consul-datacenter";
import { FailoverQuery } from "./failover-query";

export interface DatacenterApisArgs {
    readonly datacenters: readonly ConsulDatacenter[];
    /** Each datacenter's readiness step, in the model's order. */
    readonly healthy: readonly AgentsHealthy[];
    readonly ca: CertificatePem;
    readonly managementOf: (dc: DatacenterModel) => pulumi.Output<string>;
}

/** The peerings' states, by peering datacenter. */
export function datacenterApis(
    name: string,
    model: StackModel,
    args: DatacenterApisArgs,
    parent: pulumi.Resource,
): pulumi.Output<Record<string, Record<string, string>>> {
    const at = (dc: DatacenterModel) => model.datacenters.indexOf(dc);
    // A datacenter's API answers for its cluster once it and its cluster's first datacenter are healthy.
    const after = (...dcs: DatacenterModel[]) => ({
        parent,
        dependsOn: dcs.flatMap((dc) => [
            args.datacenters[at(dc)],
            args.healthy[at(dc)],
            args.healthy[model.datacenters.findIndex((d) => d.name === dc.primaryDatacenter)],
        ]),
    });
    const api = (dc: DatacenterModel) => ({
        httpAddr: args.datacenters[at(dc)].httpAddr,
        caPem: args.ca.certPem,
        token: args.managementOf(dc),
        datacenter: dc.name,
    });

    // <service>.query.consul in every datacenter, failing over to the others of its cluster in stack order.
    if (model.failoverQueries) {
        model.datacenters.forEach(
            (dc) =>
                new FailoverQuery(
                    `${name}-${dc.name}-failover-query`,
                    {
                        ...api(dc),
                        definition: failoverQuery(
                            dc.name,
                            model.datacenters
                                .filter((d) => d.primaryDatacenter === dc.primaryDatacenter)
                                .map((d) => d.name),
                        ),
                    },
                    after(dc),
                ),
        );
    }

    // The mesh's config entries live in the primary datacenter; Consul replicates them to the others.
    const primary = model.datacenters[0];
    for (const entry of meshConfigEntries(model)) {
        new ConfigEntry(`${name}-${entry.Kind}-${entry.Name}`, { ...api(primary), entry }, after(primary));
    }
    if (model.mesh) {
        new IntentionsSweep(
            `${name}-intentions-sweep`,
            { ...api(primary), keep: serviceIntentions(model.mesh.intentions).map((e) => e.Name) },
            after(primary),
        );
    }

    // Each peering datacenter peers with the first. Each side exports its demo services to the other: the
    // first datacenter's one entry names every peer.
    const first = model.datacenters[0];
    const peers = model.datacenters.filter((dc) => dc.federation === "peering");
    const exportTo = (dc: DatacenterModel, to: readonly string[]) => {
        if (dc.services.length > 0) {
            new ConfigEntry(
                `${name}-${dc.name}-exported-services`,
                {
                    ...api(dc),
                    entry: exportedServices(
                        dc.services.map((s) => s.name),
                        to,
                    ),
                },
                after(dc),
            );
        }
    };
    if (peers.length > 0) {
        exportTo(
            first,
            peers.map((p) => p.name),
        );
    }
    const side = (dc: DatacenterModel) => ({
        httpAddr: args.datacenters[at(dc)].httpAddr,
        datacenter: dc.name,
        token: args.managementOf(dc),
    });
    return pulumi.all(
        Object.fromEntries(
            peers.map((dc) => {
                exportTo(dc, [first.name]);
                const peering = new ClusterPeering(
                    `${name}-${dc.name}-peering`,
                    {
                        caPem: args.ca.certPem,
                        acceptor: side(first),
                        dialer: side(dc),
                        serverAddresses: first.peeringAddresses,
                    },
                    after(first, dc),
                );
                return [dc.name, peering.states];
            }),
        ),
    );
}
