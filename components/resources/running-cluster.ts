// What runs now, read from the Docker hosts' networks (on one host: its servers on the WAN network, and
// their datacenters' subnets; across hosts: each datacenter's LAN network on its own host), and whether
// the new model can replace it in one `pulumi up`.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { runningDatacenters, runningLan as lanOf, runningShape, runningShapeAcrossHosts, shapeChangeProblems } from "../model/running-shape";
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
export function runningCluster(model: StackModel, providers: readonly (docker.Provider | undefined)[], opts: pulumi.InvokeOptions = {}): RunningCluster {
    const prefix = model.namePrefix;
    const lookUp = (name: string, provider?: docker.Provider) =>
        docker.getNetwork({ name }, { ...opts, ...(provider ? { provider } : {}) }).then((n) => n, () => undefined);
    const shape = model.acrossHosts
        ? Promise.all(model.datacenters.map(async (dc, i) => {
              const lan = await lookUp(dc.lanNetworkName, providers[i]);
              return [dc.name, { ...lanOf(lan), containers: lan?.containers ?? [] }] as const;
          })).then((lans) => runningShapeAcrossHosts(Object.fromEntries(lans), prefix))
        : lookUp(model.wan.networkName).then(async (wan) => {
              const running = wan?.containers ?? [];
              const lans = runningDatacenters(running, prefix).map(async (dc) => [dc, lanOf(await lookUp(`${prefix}${dc}-lan`))]);
              return runningShape(running, Object.fromEntries(await Promise.all(lans)), prefix);
          });
    const refusal = pulumi.output(shape).apply((shape) => {
        const change = shapeChangeProblems(shape, model);
        change.warnings.forEach((w) => pulumi.log.warn(w));
        const heading = "The running cluster cannot take this config in one `pulumi up`";
        return change.problems.length > 0 ? new pulumi.RunError(new ConfigProblems(change.problems, heading).message) : undefined;
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
