// The prepared query template behind failover: one per datacenter, matching every service. Pure.

/** A prepared query definition as Consul's HTTP API takes it (POST /v1/query). */
export interface PreparedQueryDefinition {
    readonly Name: string;
    readonly Template: { readonly Type: "name_prefix_match" };
    readonly Service: {
        readonly Service: string;
        readonly OnlyPassing: boolean;
        readonly Failover: { readonly Datacenters: readonly string[] };
    };
}

/**
 * The catch-all template of `datacenter`: an empty name prefix matches every name, so
 * `<service>.query.consul` asks for `<service>`. It answers with passing instances in the local
 * datacenter, and when there are none, in the first of `others` that has some (the stack's other
 * datacenters in stack order). No token is stored with it: each request runs with the caller's, so DNS
 * sees what the anonymous token may read, and ACLs are checked against the service queried.
 */
export function failoverQuery(datacenter: string, all: readonly string[]): PreparedQueryDefinition {
    return {
        Name: "",
        Template: { Type: "name_prefix_match" },
        Service: {
            Service: "${name.full}",
            OnlyPassing: true,
            Failover: { Datacenters: all.filter((d) => d !== datacenter) },
        },
    };
}
