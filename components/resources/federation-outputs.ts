// What a ConsulFederation gives its program, defined once: the component's properties, the outputs it
// registers, and (in index.ts) the stack outputs are all this object.
import * as pulumi from "@pulumi/pulumi";
import { sitePorts } from "../model/site-ports";
import type { StackModel } from "../model/stack-model";
import { exampleApp } from "../render/acl";
import type { CertificatePem } from "./certificates";
import type { ConsulDatacenter } from "./consul-datacenter";
import type { FederationSecrets } from "./federation-secrets";

export interface FederationOutputs {
    /** By datacenter: the HTTPS UI, e.g. https://127.0.0.1:8500/ui/dc1. */
    readonly uiUrls: pulumi.Output<Record<string, string>>;
    /** By datacenter: host:port of the HTTPS API. */
    readonly httpAddrs: pulumi.Output<Record<string, string>>;
    /** By datacenter: host:port of DNS (tcp and udp). */
    readonly dnsAddrs: pulumi.Output<Record<string, string>>;
    /** By datacenter: the server and client container names. */
    readonly containers: pulumi.Output<Record<string, { servers: string[]; clients: string[] }>>;
    /** Demo service names by datacenter. */
    readonly services: pulumi.Output<Record<string, string[]>>;
    /**
     * By peering datacenter: the state of its peering with the first datacenter on each side,
     * e.g. { dc3: { dc1: "ACTIVE", dc3: "ACTIVE" } }.
     */
    readonly peerings: pulumi.Output<Record<string, Record<string, string>>>;
    /** Where ACLs and the KV seed live. Fails when the running cluster cannot take the change. */
    readonly primaryDatacenter: pulumi.Output<string>;
    /** A secret. */
    readonly gossipKey: pulumi.Output<string>;
    /** The initial management token of the first datacenter and the WAN datacenters; a secret. */
    readonly aclBootstrapToken: pulumi.Output<string>;
    /** By datacenter: the management token of its cluster (a peering datacenter has its own); a secret. */
    readonly aclBootstrapTokens: pulumi.Output<Record<string, string>>;
    /** The example app's least-privilege token: reads the demo services and its KV prefix; a secret. */
    readonly appToken: pulumi.Output<string>;
    readonly appKvPrefix: pulumi.Output<string>;
    /**
     * The mesh demo: the first published service instance that calls its upstream through the mesh. Each answer
     * names the instance and datacenter that served it. Undefined without one.
     */
    readonly meshDemoUrl: pulumi.Output<string | undefined>;
    /** Trust it to reach the HTTPS UI and API: `curl --cacert`, or a browser's certificate store. */
    readonly caCertPem: pulumi.Output<string>;
    /**
     * By datacenter: the host ports ("PORT/PROTO") the other sites must reach on its host's address, for the
     * firewall between hosts; none for any on one Docker host.
     */
    readonly sitePorts: pulumi.Output<Record<string, string[]>>;
}

export interface FederationParts {
    readonly datacenters: readonly ConsulDatacenter[];
    readonly secrets: FederationSecrets;
    readonly ca: CertificatePem;
    readonly peerings: pulumi.Output<Record<string, Record<string, string>>>;
    /** Fails when the running cluster cannot take the model (running-cluster.ts). */
    readonly checked: pulumi.Output<unknown>;
}

export function federationOutputs(model: StackModel, parts: FederationParts): FederationOutputs {
    const byDatacenter = <T>(pick: (dc: ConsulDatacenter) => pulumi.Output<T>) =>
        pulumi.all(Object.fromEntries(model.datacenters.map((dc, i) => [dc.name, pick(parts.datacenters[i])])));
    return {
        uiUrls: byDatacenter((dc) => dc.uiUrl),
        httpAddrs: byDatacenter((dc) => dc.httpAddr),
        dnsAddrs: byDatacenter((dc) => dc.dnsAddr),
        containers: byDatacenter((dc) =>
            pulumi.all([dc.serverNames, dc.clientNames]).apply(([servers, clients]) => ({ servers, clients })),
        ),
        services: pulumi.output(
            Object.fromEntries(model.datacenters.map((dc) => [dc.name, dc.services.map((s) => s.name)])),
        ),
        peerings: parts.peerings,
        // A refused change fails this output too, so the program fails while its outputs are pending, which
        // is when Pulumi prints a RunError's message without a stack trace.
        primaryDatacenter: parts.checked.apply(() => model.primaryDatacenter),
        gossipKey: parts.secrets.gossipKey,
        aclBootstrapToken: parts.secrets.managementOf(model.datacenters[0]),
        aclBootstrapTokens: pulumi.secret(
            pulumi.all(Object.fromEntries(model.datacenters.map((dc) => [dc.name, parts.secrets.managementOf(dc)]))),
        ),
        appToken: pulumi.secret(parts.secrets.app.apply((t) => t.secretId)),
        appKvPrefix: pulumi.output(exampleApp.kvPrefix),
        meshDemoUrl: parts.datacenters.find((dc) => dc.meshDemoUrl)?.meshDemoUrl ?? pulumi.output(undefined),
        caCertPem: pulumi.output(parts.ca.certPem),
        sitePorts: pulumi.output(sitePorts(model)),
    };
}
