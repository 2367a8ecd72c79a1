// One config entry (exported services, proxy defaults, intentions, resolvers), written through a datacenter's
// published HTTPS API with its cluster's management token. A dynamic resource, as failover-query.ts says why:
// `pulumi up` writes it when it changes and deletes it when the stack no longer has it.
import * as pulumi from "@pulumi/pulumi";
import type { ConfigEntry as Entry } from "../render/mesh";
import { consulApi, type DatacenterApiArgs } from "./consul-api";

interface EntryInputs {
    /** host:port of the datacenter's published HTTPS API. */
    readonly httpAddr: string;
    readonly caPem: string;
    /** Its cluster's management token: config entries need operator or service write. */
    readonly token: string;
    readonly datacenter: string;
    readonly kind: string;
    readonly entryName: string;
    /** The entry, as JSON. */
    readonly entry: string;
}

async function put(inputs: EntryInputs): Promise<void> {
    const res = await consulApi(inputs, "PUT", `/v1/config?dc=${inputs.datacenter}`, inputs.entry);
    if (res.status !== 200) {
        throw new Error(
            `writing the ${inputs.kind} entry ${inputs.entryName} of ${inputs.datacenter} through ` +
                `https://${inputs.httpAddr}: ${res.status} ${res.body.trim()}`,
        );
    }
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: EntryInputs) {
        await put(inputs);
        return { id: `${inputs.datacenter}-${inputs.kind}-${inputs.entryName}`, outs: inputs };
    },
    async update(_id: string, _olds: EntryInputs, news: EntryInputs) {
        await put(news);
        return { outs: news };
    },
    async delete(_id: string, props: EntryInputs) {
        const res = await consulApi(
            props,
            "DELETE",
            `/v1/config/${props.kind}/${props.entryName}?dc=${props.datacenter}`,
        );
        if (res.status !== 200 && res.status !== 404) {
            throw new Error(
                `deleting the ${props.kind} entry ${props.entryName} of ${props.datacenter}: ` +
                    `${res.status} ${res.body.trim()}`,
            );
        }
    },
};

export interface ConfigEntryArgs extends DatacenterApiArgs {
    readonly entry: Entry;
}

export class ConfigEntry extends pulumi.dynamic.Resource {
    constructor(name: string, args: ConfigEntryArgs, opts: pulumi.CustomResourceOptions) {
        super(
            provider,
            name,
            {
                ...args,
                token: pulumi.secret(args.token),
                kind: args.entry.Kind,
                entryName: args.entry.Name,
                entry: JSON.stringify(args.entry),
            },
            { ...opts, additionalSecretOutputs: ["token"] },
        );
    }
}
