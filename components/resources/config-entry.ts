// One config entry (exported services, proxy defaults, intentions, resolvers), written through a datacenter's
// published HTTPS API with its cluster's management token. A dynamic resource, as failover-query.ts says why:
// `pulumi up` writes it when it changes and deletes it when the stack no longer has it.
import * as pulumi from "@pulumi/pulumi";
import { type ConfigEntry as Entry, intentionsMeta } from "../render/mesh";
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

const intentions = (kind: string) => kind === "service-intentions";

/**
 * Consul keeps intentions while Connect is off but refuses to delete them, and a `pulumi up` that turns the
 * mesh off deletes them last, after the agents restarted without Connect. Left behind they do nothing
 * until Connect is on again; then the next `pulumi up` removes them (IntentionsSweep).
 */
const connectOff = (body: string) => body.includes("Connect must be enabled");

/**
 * Deletes one entry; one that is gone already is fine, and so, with `connectOffIsFine`, is an intention
 * Consul keeps because Connect is off (connectOff).
 */
async function deleteEntry(
    to: Omit<EntryInputs, "kind" | "entryName" | "entry">,
    kind: string,
    entryName: string,
    connectOffIsFine: boolean,
): Promise<void> {
    const res = await consulApi(to, "DELETE", `/v1/config/${kind}/${entryName}?dc=${to.datacenter}`);
    if (res.status !== 200 && res.status !== 404 && !(connectOffIsFine && connectOff(res.body))) {
        throw new Error(
            `deleting the ${kind} entry ${entryName} of ${to.datacenter}: ${res.status} ${res.body.trim()}`,
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
        await deleteEntry(props, props.kind, props.entryName, intentions(props.kind));
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

interface SweepInputs extends Omit<EntryInputs, "kind" | "entryName" | "entry"> {
    /** The destinations whose intentions the stack has now. */
    readonly keep: string[];
}

/** Deletes the intentions entries the stack wrote (intentionsMeta) for destinations it no longer has. */
async function sweep(inputs: SweepInputs): Promise<void> {
    const res = await consulApi(inputs, "GET", `/v1/config/service-intentions?dc=${inputs.datacenter}`);
    if (res.status !== 200) {
        throw new Error(`listing the intentions of ${inputs.datacenter}: ${res.status} ${res.body.trim()}`);
    }
    const written = Object.entries(intentionsMeta);
    const stale = (JSON.parse(res.body) as { Name: string; Meta?: Record<string, string> }[]).filter(
        (e) => written.every(([k, v]) => e.Meta?.[k] === v) && !inputs.keep.includes(e.Name),
    );
    for (const e of stale) {
        await deleteEntry(inputs, "service-intentions", e.Name, false);
    }
}

const sweepProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: SweepInputs) {
        await sweep(inputs);
        return { id: `${inputs.datacenter}-intentions-sweep`, outs: inputs };
    },
    async update(_id: string, _olds: SweepInputs, news: SweepInputs) {
        await sweep(news);
        return { outs: news };
    },
};

export interface IntentionsSweepArgs extends DatacenterApiArgs {
    readonly keep: readonly string[];
}

/**
 * With the mesh on: removes the intentions a mesh turned off left behind (connectOff says why) for
 * destinations the stack no longer has. It runs when it is created, that is when the mesh comes back on,
 * and whenever the destinations change.
 */
export class IntentionsSweep extends pulumi.dynamic.Resource {
    constructor(name: string, args: IntentionsSweepArgs, opts: pulumi.CustomResourceOptions) {
        super(
            sweepProvider,
            name,
            { ...args, token: pulumi.secret(args.token), keep: [...args.keep] },
            {
                ...opts,
                additionalSecretOutputs: ["token"],
            },
        );
    }
}
