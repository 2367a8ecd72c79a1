// The whole federation as one component: stack settings in, one compiled model, then a short list of
// steps, each in a file of its own. Another Pulumi program gets a multi-datacenter Consul with
// `new ConsulFederation("lab", { datacenters: [...] })`: every other setting has the stack config's default.
import * as pulumi from "@pulumi/pulumi";
import { compileStack } from "../model/compile";
import { type DefaultedSetting, withDefaults } from "../model/defaults";
import { ConfigProblems, type StackSettings } from "../model/settings";
import type { StackModel } from "../model/stack-model";
import { certificateAuthority } from "./certificates";
import { clusterAcls } from "./cluster-acls";
import { datacenterApis } from "./datacenter-apis";
import { datacenterReadiness } from "./datacenter-readiness";
import { dockerProvider } from "./docker-provider";
import { federationDatacenters } from "./federation-datacenters";
import { type FederationOutputs, federationOutputs } from "./federation-outputs";
import { federationSecrets } from "./federation-secrets";
import { runningCluster } from "./running-cluster";
import { defaultBaseConfigDir, readBaseConfig, readDockerCertFiles } from "./stack-files";

/**
 * The stack settings (model/settings.ts documents each), of which only `datacenters` is required. Plain
 * values, not Inputs: the topology decides how many resources exist and their names, and every value is
 * checked at preview.
 */
export type ConsulFederationArgs = Pick<StackSettings, "datacenters"> &
    Partial<Pick<StackSettings, DefaultedSetting | "gossipKey" | "kvSeed" | "baseConfig">>;

// The component's properties are its outputs, declared once in federation-outputs.ts.
export interface ConsulFederation extends FederationOutputs {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor assigns every property of the interface.
export class ConsulFederation extends pulumi.ComponentResource {
    constructor(name: string, args: ConsulFederationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("consul-multi-dc:index:ConsulFederation", name, {}, opts);
        const model = this.compile(args);
        model.warnings.forEach((w) => pulumi.log.warn(w, this));
        const child = { parent: this };
        const secrets = federationSecrets(name, model, this);
        const ca = certificateAuthority(`${name}-ca`, child);
        // Each datacenter's resources, and the reads of what runs there, go through its own host's engine.
        const providers = model.datacenters.map((dc) => dockerProvider(`${name}-${dc.name}-docker`, dc.host, child));
        // A running datacenter's servers are replaced one at a time.
        const running = runningCluster(model, providers, child);
        const datacenters = federationDatacenters(name, model, { secrets, ca, providers, running }, this);
        const acls = clusterAcls(name, model, { datacenters, secrets, ca, providers, checked: running.checked }, this);
        const healthy = datacenterReadiness(name, model, datacenters, acls, this);
        const peerings = datacenterApis(
            name,
            model,
            { datacenters, healthy, ca, managementOf: secrets.managementOf },
            this,
        );
        const outputs = federationOutputs(model, { datacenters, secrets, ca, peerings, checked: running.checked });
        Object.assign(this, outputs);
        this.registerOutputs(outputs);
    }

    /** Every problem with the args, listed at once in one error that names each key. */
    private compile(args: ConsulFederationArgs): StackModel {
        try {
            return compileStack({
                ...withDefaults(args),
                baseConfig: args.baseConfig ?? readBaseConfig(defaultBaseConfigDir, "."),
                dockerCertFiles: Array.isArray(args.datacenters) ? readDockerCertFiles(args.datacenters) : {},
            });
        } catch (e) {
            throw e instanceof ConfigProblems ? new pulumi.ResourceError(e.message, this, true) : e;
        }
    }
}
