// What runs now, read from the Docker hosts' networks (each datacenter's LAN network on its own host and,
// on one host, the WAN network), and whether the new model can replace it in one `pulumi up`.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { runningShape, shapeChangeProblems } from "../model/running-shape";
import { ConfigProblems } from "../model/settings";
import type { StackModel } from "../model/stack-model";

export interface RunningCluster {
    /** The datacenters whose servers run: their servers are replaced one at a time. */
    readonly formed: pulumi.Output<string[]>;
    /** Fails when the running cluster cannot take the model; every datacenter waits on it. */
    readonly checked: pulumi.Output<pulumi.Resource[]>;
}

/**
 * A refusal touches no datacenter, even with --skip-preview, because every datacenter depends on the
 * check. One error for all that fails on it: the engine reports it once.
 */
export function runningCluster(
    model: StackModel,
    providers: readonly (docker.Provider | undefined)[],
    opts: pulumi.InvokeOptions = {},
): RunningCluster {
    const lookUp = (name: string, provider?: docker.Provider) =>
        docker.getNetwork({ name }, { ...opts, ...(provider ? { provider } : {}) }).then(
            (n) => n,
            () => undefined,
        );
    const lans = Promise.all(
        model.datacenters.map(async (dc, i) => [dc.name, await lookUp(dc.lanNetworkName, providers[i])] as const),
    );
    const wan = model.acrossHosts ? undefined : lookUp(model.wan.networkName, providers[0]);
    const shape = Promise.all([lans, wan]).then(([lans, wan]) => runningShape(Object.fromEntries(lans), wan));
    const refusal = pulumi.output(shape).apply((shape) => {
        const change = shapeChangeProblems(shape, model);
        change.warnings.forEach((w) => pulumi.log.warn(w));
        const heading = "The running cluster cannot take this config in one `pulumi up`";
        return change.problems.length > 0
            ? new pulumi.RunError(new ConfigProblems(change.problems, heading).message)
            : undefined;
    });
    return {
        formed: pulumi.output(shape.then((running) => running?.datacenters.map((dc) => dc.name) ?? [])),
        checked: refusal.apply((r): pulumi.Resource[] => {
            if (r) {
                throw r;
            }
            return [];
        }),
    };
}
