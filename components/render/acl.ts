// ACL tokens: the config that hands each agent its own tokens, and the script that creates them all in
// the primary datacenter, then seeds KV. Pure: plain strings in, plain strings out, so both are tested
// on their own.
import type { DatacenterModel, StackModel } from "../model/stack-model";

/** A token whose accessor and secret IDs are fixed in advance by the stack. */
export interface TokenSpec {
    readonly description: string;
    readonly accessorId: string;
    readonly secretId: string;
    /** A node identity (node:read for service discovery, node:write on its own node): an agent token. */
    readonly nodeIdentity?: { readonly node: string; readonly datacenter: string };
    /** A service identity (service:write on that service, read for discovery): registers a service. */
    readonly serviceIdentity?: string;
    /** A named policy, created by the script when missing. */
    readonly policy?: string;
    /** An agent waits for it before its first start (agent-ready.ts): the script makes it early. */
    readonly awaited?: boolean;
}

export const replicationPolicyName = "acl-replication";
export const dnsPolicyName = "anonymous-dns-read";
export const appPolicyName = "example-app";

/** The anonymous token's well-known accessor ID. */
const anonymousAccessorId = "00000000-0000-0000-0000-000000000002";

// What DNS needs, as consul-k8s grants it by default: node and service names, nothing else.
export const dnsPolicyRules = `node_prefix "" {
  policy = "read"
}
service_prefix "" {
  policy = "read"
}
`;

/**
 * The example app's least privilege: read its own service and the demo services it discovers (health
 * lists also need the nodes they run on), and read its KV prefix. No writes, but one where peers export
 * services to its cluster (`fromPeers`): Consul shows a token services imported from a peer only when it
 * may read every service or write some service, a service of the cluster. The app is one, so it may
 * register itself, as its own name and nothing else.
 */
export function appPolicyRules(app: {
    service: string;
    kvPrefix: string;
    discovers: readonly string[];
    fromPeers?: boolean;
}): string {
    const services = [...new Set([app.service, ...app.discovers])].sort();
    return [
        ...services.map(
            (s) => `service "${s}" {
  policy = "${s === app.service && app.fromPeers ? "write" : "read"}"
}`,
        ),
        `node_prefix "" {
  policy = "read"
}`,
        `key_prefix "${app.kvPrefix}" {
  policy = "read"
}`,
        "",
    ].join("\n");
}

// The minimal rules a secondary datacenter's servers need to replicate ACLs (and the config entries and
// intentions that Connect relies on), as Consul's federation guide gives them.
export const replicationPolicyRules = `acl = "write"
operator = "write"
service_prefix "" {
  policy     = "read"
  intentions = "read"
}
`;

/** The example app (examples/app.ts): its own least-privilege token reads its KV prefix and discovers services. */
export const exampleApp = { service: "example-app", kvPrefix: "example-app/" } as const;

/**
 * The policies a cluster's acl-init makes: in the first datacenter, the replication and example app
 * policies; in every cluster, the anonymous token's DNS policy when the stack grants it.
 */
export function clusterPolicies(
    model: StackModel,
    cluster: DatacenterModel,
): { readonly name: string; readonly rules: string }[] {
    const main = cluster.name === model.primaryDatacenter;
    return [
        ...(main ? [{ name: replicationPolicyName, rules: replicationPolicyRules }] : []),
        ...(model.dnsAnonymousRead ? [{ name: dnsPolicyName, rules: dnsPolicyRules }] : []),
        ...(main
            ? [
                  {
                      name: appPolicyName,
                      rules: appPolicyRules({ ...exampleApp, discovers: model.serviceNames, fromPeers: model.peered }),
                  },
              ]
            : []),
    ];
}

/** The tokens one agent runs with. Never the management token: that one only bootstraps ACLs. */
export interface AgentTokens {
    readonly agent: string;
    /** Primary-datacenter servers only: the management token Consul creates when ACLs bootstrap. */
    readonly initialManagement?: string;
    /** Secondary-datacenter servers only. */
    readonly replication?: string;
}

export function aclTokensConfig(tokens: AgentTokens): { acl: { tokens: Record<string, string> } } {
    const config: Record<string, string> = { agent: tokens.agent };
    if (tokens.initialManagement) {
        config.initial_management = tokens.initialManagement;
    }
    if (tokens.replication) {
        config.replication = tokens.replication;
    }
    return { acl: { tokens: config } };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A POSIX sh script, run by the acl-init container with the management token in CONSUL_HTTP_TOKEN.
 * It waits for the primary's servers, creates whatever policy or token is missing (and brings each policy's
 * rules up to date, so a changed stack takes effect on a running cluster), sets the anonymous
 * token's policy, writes each KV seed key that does not exist yet (a value a user changed is never
 * reset), marks itself done and stays up, so its healthcheck tells `pulumi up` that all of it is there.
 * Re-running it is safe.
 */
export function aclInitScript(args: {
    readonly serverAddresses: readonly string[];
    readonly serverName: string;
    readonly doneFile: string;
    /** Policies to create when missing, each from a rules file in the container. */
    readonly policies: readonly { readonly name: string; readonly file: string }[];
    readonly tokens: readonly TokenSpec[];
    /**
     * The policy that lets the anonymous token read names for DNS: given to it when `grant`, deleted
     * (which takes it off the token) when not, so turning the stack config off takes effect on a running cluster.
     */
    readonly anonymous: { readonly policy: string; readonly grant: boolean };
    readonly kv: readonly (readonly [string, string])[];
}): string {
    const lines = [
        "#!/bin/sh",
        "# Creates the stack's ACL tokens in the primary datacenter. Generated by components/acl.ts.",
        "set -u",
        "# The done file is in the container's filesystem, which a restart keeps: it must mean this run finished.",
        `rm -f ${quote(args.doneFile)}`,
        `export CONSUL_TLS_SERVER_NAME=${quote(args.serverName)}`,
        "",
        "# Any server will do; wait until one answers with the management token (ACLs bootstrapped). Every",
        "# 250 ms: the replication token made next is what a secondary datacenter's server waits for.",
        "until",
        `  for address in ${args.serverAddresses.map(quote).join(" ")}; do`,
        '    export CONSUL_HTTP_ADDR="https://${address}:8501"',
        "    consul acl token read -self >/dev/null 2>&1 && break",
        "  done",
        "  consul acl token read -self >/dev/null 2>&1",
        "do sleep 0.25; done",
        "",
        "# Each step retries until it succeeds. It tries to create first, which on a new cluster succeeds at once,",
        "# and only when that fails asks whether the object is already there: one CLI call per object, not two.",
        "# The retry message names the step and the policy name or token accessor ID, never a secret.",
        'ensure() { until "$@"; do echo "acl-init: retrying $1 $2" >&2; sleep 1; done; }',
        'policy() { consul acl policy create -name "$1" -rules "@$2" >/dev/null 2>&1 || ' +
            'consul acl policy update -name "$1" -rules "@$2" >/dev/null 2>&1; }',
        'token() { consul acl token create -accessor "$1" -secret "$2" -description "$3" "$4" "$5" >/dev/null 2>&1' +
            ' || consul acl token read -id "$1" >/dev/null 2>&1; }',
        "# A key that exists is left as it is; -cas with index 0 writes only if it still does not.",
        'revoke() { ! consul acl policy read -name "$1" >/dev/null 2>&1 || ' +
            'consul acl policy delete -name "$1" >/dev/null; }',
        'seed() { consul kv put -cas -modify-index=0 "$1" "$2" >/dev/null 2>&1 || ' +
            'consul kv get "$1" >/dev/null 2>&1; }',
        "",
        "# What agents wait for comes first: the replication token (a secondary server waits for it before its",
        "# first start) and its policy, then the clients' tokens and the tokens their services register with.",
        "# Then the rest, each policy before the tokens that name it. One at a time: at 24 agents, creating them",
        "# all at once took 39 s on two cores, against seconds in turn.",
    ];
    // Stable within each group, so the script's text follows the stack config's order.
    const rank = (t: TokenSpec) => (t.policy === replicationPolicyName ? 0 : t.awaited ? 1 : 2);
    const tokens = [...args.tokens].sort((a, b) => rank(a) - rank(b));
    const earlyPolicies = new Set(tokens.filter((t) => rank(t) < 2 && t.policy).map((t) => t.policy));
    const policyLine = (p: { name: string; file: string }) => `ensure policy ${quote(p.name)} ${quote(p.file)}`;
    const tokenLine = (t: TokenSpec) => {
        const grant = t.nodeIdentity
            ? ["-node-identity", `${t.nodeIdentity.node}:${t.nodeIdentity.datacenter}`]
            : t.serviceIdentity
              ? ["-service-identity", t.serviceIdentity]
              : ["-policy-name", t.policy ?? ""];
        return `ensure token ${[t.accessorId, t.secretId, t.description, ...grant].map(quote).join(" ")}`;
    };
    lines.push(
        ...args.policies.filter((p) => earlyPolicies.has(p.name)).map(policyLine),
        ...tokens.filter((t) => rank(t) < 2).map(tokenLine),
        ...args.policies.filter((p) => !earlyPolicies.has(p.name)).map(policyLine),
        ...tokens.filter((t) => rank(t) === 2).map(tokenLine),
    );
    if (args.anonymous.grant) {
        const update = [
            "consul",
            "acl",
            "token",
            "update",
            "-accessor-id",
            anonymousAccessorId,
            "-description",
            "Anonymous Token",
            "-policy-name",
            args.anonymous.policy,
        ];
        lines.push(`ensure ${update.map(quote).join(" ")} >/dev/null`);
    } else {
        lines.push(`ensure revoke ${quote(args.anonymous.policy)}`);
    }
    for (const [key, value] of args.kv) {
        lines.push(`ensure seed ${quote(key)} ${quote(value)}`);
    }
    lines.push(
        "",
        `echo "acl-init: ${args.tokens.length} tokens and ${args.kv.length} KV seed keys present"`,
        `touch ${quote(args.doneFile)}`,
        "# Idle until stopped. As PID 1, sh would ignore SIGTERM and Docker would wait 10 s to kill it.",
        "trap 'exit 0' TERM INT",
        "sleep 2147483647 &",
        "wait",
        "",
    );
    return lines.join("\n");
}
