// A datacenter's exported-services config entry (Consul takes one per datacenter, named "default"), made
// through its published HTTPS API: which of its services its peers may import. A dynamic resource, as
// failover-query.ts says why; one per datacenter, so that the first datacenter's entry, which names every
// peer, lives as long as any peering does and no peering's removal takes it from the others.
import * as pulumi from "@pulumi/pulumi";
import type { ExportedServicesEntry } from "../render/peering";
import { consulApi, type DatacenterApiArgs } from "./consul-api";

interface EntryInputs {
    /** host:port of the datacenter's published HTTPS API. */
    readonly httpAddr: string;
    readonly caPem: string;
    /** Its cluster's management token: config entries need operator write. */
    readonly token: string;
    readonly datacenter: string;
    /** The entry, as JSON. */
    readonly entry: string;
}

async function put(inputs: EntryInputs): Promise<void> {
    const res = await consulApi(inputs, "PUT", "/v1/config", inputs.entry);
    if (res.status !== 200) {
        throw new Error(
            `writing the exported-services entry of ${inputs.datacenter} through https://${inputs.httpAddr}: ` +
                `${res.status} ${res.body.trim()}`,
        );
    }
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: EntryInputs) {
        await put(inputs);
        return { id: `${inputs.datacenter}-exported-services`, outs: inputs };
    },
    async update(_id: string, _olds: EntryInputs, news: EntryInputs) {
        await put(news);
        return { outs: news };
    },
    async delete(_id: string, props: EntryInputs) {
        const res = await consulApi(props, "DELETE", "/v1/config/exported-services/default");
        if (res.status !== 200 && res.status !== 404) {
            throw new Error(
                `deleting the exported-services entry of ${props.datacenter}: ${res.status} ${res.body.trim()}`,
            );
        }
    },
};

export interface ExportedServicesArgs extends DatacenterApiArgs {
    readonly entry: ExportedServicesEntry;
}

export class ExportedServices extends pulumi.dynamic.Resource {
    constructor(name: string, args: ExportedServicesArgs, opts: pulumi.CustomResourceOptions) {
        super(
            provider,
            name,
            { ...args, token: pulumi.secret(args.token), entry: JSON.stringify(args.entry) },
            { ...opts, additionalSecretOutputs: ["token"] },
        );
    }
}
