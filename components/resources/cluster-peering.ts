// A cluster peering between the first datacenter (the acceptor) and a peering datacenter (the dialer),
// made through each side's published HTTPS API: the acceptor generates a peering token and the dialer
// establishes with it. The token lives only inside these calls: it is never an input, an output or a log
// line. What each side shares is its exported-services entry (exported-services.ts). A dynamic resource,
// as failover-query.ts says why.
import * as pulumi from "@pulumi/pulumi";
import { type ConsulAnswer, consulApi } from "./consul-api";

/** One side of the peering. Its peering is named after the other side's datacenter. */
interface Side {
    /** host:port of its published HTTPS API. */
    readonly httpAddr: string;
    readonly datacenter: string;
}

/** Both sides of a peering and what each is called with; the scripts' restore (scripts/snapshot.ts) passes it too. */
export interface PeeringInputs {
    readonly caPem: string;
    readonly acceptor: Side;
    readonly dialer: Side;
    /** Each side's management token: peering writes need operator write. */
    readonly acceptorToken: string;
    readonly dialerToken: string;
    /** host:port of the acceptor's servers' gRPC TLS, as the dialer reaches them: the token names them. */
    readonly serverAddresses: readonly string[];
}

/** The peering's state on each side (ACTIVE once the dialer's stream is up), by datacenter. */
type PeeringOutputs = PeeringInputs & { readonly states: Record<string, string> };

/** Seconds a new peering may take to turn ACTIVE on both sides. */
const activeWithinSeconds = 60;

/**
 * One call, failing with the method, path and Consul's answer (never the request body, which may hold the peering
 * token).
 */
async function call(
    inputs: PeeringInputs,
    side: "acceptor" | "dialer",
    method: string,
    path: string,
    body?: string,
    ok: readonly number[] = [200],
): Promise<ConsulAnswer> {
    const to = {
        httpAddr: inputs[side].httpAddr,
        caPem: inputs.caPem,
        token: side === "acceptor" ? inputs.acceptorToken : inputs.dialerToken,
    };
    const res = await consulApi(to, method, path, body);
    if (!ok.includes(res.status)) {
        throw new Error(
            `${method} ${path} on ${inputs[side].datacenter} (https://${to.httpAddr}): ` +
                `${res.status} ${res.body.trim()}`,
        );
    }
    return res;
}

/** The peering's state on one side, named after the other; undefined when it has none. */
async function stateOn(inputs: PeeringInputs, side: "acceptor" | "dialer"): Promise<string | undefined> {
    const peer = side === "acceptor" ? inputs.dialer.datacenter : inputs.acceptor.datacenter;
    const res = await call(inputs, side, "GET", `/v1/peering/${peer}`, undefined, [200, 404]);
    return res.status === 200 ? (JSON.parse(res.body) as { State: string }).State : undefined;
}

async function states(inputs: PeeringInputs): Promise<Record<string, string>> {
    const [acceptor, dialer] = await Promise.all([stateOn(inputs, "acceptor"), stateOn(inputs, "dialer")]);
    return { [inputs.acceptor.datacenter]: acceptor ?? "NONE", [inputs.dialer.datacenter]: dialer ?? "NONE" };
}

/**
 * A new token from the acceptor, established on the dialer: how Consul makes a peering, and re-makes one that
 * exists (after a restore, say).
 */
export async function establishPeering(inputs: PeeringInputs): Promise<void> {
    const generated = await call(
        inputs,
        "acceptor",
        "POST",
        "/v1/peering/token",
        JSON.stringify({ PeerName: inputs.dialer.datacenter, ServerExternalAddresses: inputs.serverAddresses }),
    );
    const { PeeringToken } = JSON.parse(generated.body) as { PeeringToken: string };
    await call(
        inputs,
        "dialer",
        "POST",
        "/v1/peering/establish",
        JSON.stringify({ PeerName: inputs.acceptor.datacenter, PeeringToken }),
    );
}

/** Waits until both sides say ACTIVE; each side's state. */
export async function activePeering(inputs: PeeringInputs): Promise<Record<string, string>> {
    const deadline = Date.now() + activeWithinSeconds * 1000;
    for (;;) {
        const now = await states(inputs);
        if (Object.values(now).every((s) => s === "ACTIVE")) {
            return now;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `the peering of ${inputs.dialer.datacenter} with ${inputs.acceptor.datacenter} ` +
                    `is not ACTIVE after ${activeWithinSeconds} s: ${JSON.stringify(now)}`,
            );
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** Establishes the peering unless the dialer's side is ACTIVE already (kept data, or a second run). */
async function ensurePeering(inputs: PeeringInputs): Promise<Record<string, string>> {
    if ((await stateOn(inputs, "dialer")) !== "ACTIVE") {
        await establishPeering(inputs);
    }
    return activePeering(inputs);
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PeeringInputs) {
        const outs: PeeringOutputs = { ...inputs, states: await ensurePeering(inputs) };
        return { id: `${inputs.acceptor.datacenter}-${inputs.dialer.datacenter}`, outs };
    },
    async update(_id: string, _olds: PeeringOutputs, news: PeeringInputs) {
        return { outs: { ...news, states: await ensurePeering(news) } };
    },
    // `pulumi refresh` records each side's state as it is now.
    async read(id: string, props: PeeringOutputs) {
        return { id, props: { ...props, states: await states(props) } };
    },
    async delete(_id: string, props: PeeringOutputs) {
        await call(props, "dialer", "DELETE", `/v1/peering/${props.acceptor.datacenter}`, undefined, [200, 404]);
        await call(props, "acceptor", "DELETE", `/v1/peering/${props.dialer.datacenter}`, undefined, [200, 404]);
    },
};

export interface ClusterPeeringSide {
    readonly httpAddr: pulumi.Input<string>;
    readonly datacenter: string;
    /** Its management token. */
    readonly token: pulumi.Input<string>;
}

export interface ClusterPeeringArgs {
    readonly caPem: pulumi.Input<string>;
    readonly acceptor: ClusterPeeringSide;
    readonly dialer: ClusterPeeringSide;
    readonly serverAddresses: readonly string[];
}

export class ClusterPeering extends pulumi.dynamic.Resource {
    /** The peering's state on each side, by datacenter, as of the last `pulumi up` or `pulumi refresh`. */
    declare public readonly states: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: ClusterPeeringArgs, opts: pulumi.CustomResourceOptions) {
        const side = (s: ClusterPeeringSide) => ({ httpAddr: s.httpAddr, datacenter: s.datacenter });
        const inputs = {
            caPem: args.caPem,
            acceptor: side(args.acceptor),
            dialer: side(args.dialer),
            acceptorToken: pulumi.secret(args.acceptor.token),
            dialerToken: pulumi.secret(args.dialer.token),
            serverAddresses: args.serverAddresses,
            states: undefined,
        };
        super(provider, name, inputs, { ...opts, additionalSecretOutputs: ["acceptorToken", "dialerToken"] });
    }
}
