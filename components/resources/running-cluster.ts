// What runs now, read from the Docker host's networks (its servers on the WAN network, and their
// datacenters' subnets), and whether the new model can replace it in one `pulumi up`.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { runningDatacenters, runningShape, shapeChangeProblems } from "../model/running-shape";
import { ConfigProblems } from "../model/settings";
import { StackModel } from "../model/stack-model";

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
export function runningCluster(model: StackModel, opts: pulumi.InvokeOptions = {}): RunningCluster {
    const prefix = model.namePrefix;
    const lookUp = (name: string) => docker.getNetwork({ name }, opts).then((n) => n, () => undefined);
    const servers = lookUp(`${prefix}consul-wan`).then((wan) => wan?.containers ?? []);
    const refusal = pulumi
        .output(
            servers.then(async (running) => {
                const subnets = runningDatacenters(running, prefix).map(async (dc) => [dc, (await lookUp(`${prefix}${dc}-lan`))?.ipamConfigs[0]?.subnet]);
                return runningShape(running, Object.fromEntries(await Promise.all(subnets)), prefix);
            }),
        )
        .apply((shape) => {
            const change = shapeChangeProblems(shape, model);
            change.warnings.forEach((w) => pulumi.log.warn(w));
            const heading = "The running cluster cannot take this config in one `pulumi up`";
            return change.problems.length > 0 ? new pulumi.RunError(new ConfigProblems(change.problems, heading).message) : undefined;
        });
    return {
        formed: pulumi.output(servers.then((running) => runningDatacenters(running, prefix))),
        checked: refusal.apply((r): pulumi.Resource[] => {
            if (r) {
                throw r;
            }
            return [];
        }),
    };
}
