// A datacenter's failover prepared query template, made through Consul's HTTP API on the datacenter's
// published address, with TLS checked against the stack's CA. The consul CLI has no command for prepared
// queries, and no Pulumi Consul provider can be built here (its upstream module is not served), so this is
// a dynamic resource: the engine runs these functions in its nodejs dynamic provider.
import * as pulumi from "@pulumi/pulumi";
import type { PreparedQueryDefinition } from "../render/prepared-query";
import { type ConsulAnswer, consulApi, type DatacenterApiArgs } from "./consul-api";

interface QueryInputs {
    /** host:port of the datacenter's published HTTPS API. */
    readonly httpAddr: string;
    readonly caPem: string;
    /** The management token: creating a catch-all template needs query write on every prefix. */
    readonly token: string;
    readonly datacenter: string;
    /** The definition, as JSON. */
    readonly definition: string;
}

/** What the state keeps: the inputs, and the query's ID in Consul when it differs from the resource's (see update). */
type QueryState = QueryInputs & { readonly queryId?: string };

/** Consul's answer for a query ID it does not have: 404, or a 500 that says so (a restored snapshot replaced it). */
const missing = (res: ConsulAnswer) => res.status === 404 || /non-existent prepared query/.test(res.body);

/**
 * Makes the datacenter's catch-all template, or adopts one the data holds already (data kept across a
 * destroy, or a restored snapshot: Consul takes one per name) and brings it up to date. Its ID.
 */
async function ensureTemplate(inputs: QueryInputs): Promise<string> {
    const listed = await consulApi(inputs, "GET", `/v1/query?dc=${inputs.datacenter}`);
    if (listed.status !== 200) {
        throw new Error(
            `listing the prepared queries of ${inputs.datacenter} through https://${inputs.httpAddr}: ` +
                `${listed.status} ${listed.body.trim()}`,
        );
    }
    const existing = (JSON.parse(listed.body) as { ID: string; Name: string; Template?: { Type?: string } }[]).find(
        (q) => q.Name === "" && q.Template?.Type === "name_prefix_match",
    );
    const res = existing
        ? await consulApi(inputs, "PUT", `/v1/query/${existing.ID}?dc=${inputs.datacenter}`, inputs.definition)
        : await consulApi(inputs, "POST", `/v1/query?dc=${inputs.datacenter}`, inputs.definition);
    if (res.status !== 200) {
        throw new Error(
            `creating the failover query in ${inputs.datacenter} through https://${inputs.httpAddr}: ` +
                `${res.status} ${res.body.trim()}`,
        );
    }
    return existing?.ID ?? (JSON.parse(res.body).ID as string);
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: QueryInputs) {
        return { id: await ensureTemplate(inputs), outs: inputs };
    },
    // A restored snapshot may have replaced the template: then the one the data holds, or a new one,
    // takes its place, and the state keeps its ID beside the resource's.
    async update(id: string, olds: QueryState, news: QueryInputs) {
        const res = await consulApi(
            news,
            "PUT",
            `/v1/query/${olds.queryId ?? id}?dc=${news.datacenter}`,
            news.definition,
        );
        if (missing(res)) {
            return { outs: { ...news, queryId: await ensureTemplate(news) } };
        }
        if (res.status !== 200) {
            throw new Error(`updating the failover query in ${news.datacenter}: ${res.status} ${res.body.trim()}`);
        }
        return { outs: { ...news, ...(olds.queryId ? { queryId: olds.queryId } : {}) } };
    },
    async delete(id: string, props: QueryState) {
        // Gone already (a restored snapshot replaces the queries) is as good as deleted.
        const res = await consulApi(props, "DELETE", `/v1/query/${props.queryId ?? id}?dc=${props.datacenter}`);
        if (res.status !== 200 && !missing(res)) {
            throw new Error(`deleting the failover query in ${props.datacenter}: ${res.status} ${res.body.trim()}`);
        }
    },
};

export interface FailoverQueryArgs extends DatacenterApiArgs {
    readonly definition: PreparedQueryDefinition;
}

export class FailoverQuery extends pulumi.dynamic.Resource {
    constructor(name: string, args: FailoverQueryArgs, opts: pulumi.CustomResourceOptions) {
        const inputs = { ...args, definition: JSON.stringify(args.definition) };
        super(provider, name, inputs, { ...opts, additionalSecretOutputs: ["token"] });
    }
}
