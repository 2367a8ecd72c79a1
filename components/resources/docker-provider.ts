// The Docker engine a datacenter runs on, as a Pulumi provider.
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { DockerHostModel } from "../model/docker-hosts";
import type { EngineAddress } from "./docker-engine-api";

/** The host as the readiness step reaches it; a certPath is relative to the project, where Pulumi runs the program. */
export const engineAddress = (host: DockerHostModel): EngineAddress => ({
    ...(host.endpoint !== undefined ? { endpoint: host.endpoint } : {}),
    ...(host.certPath !== undefined ? { certPath: path.resolve(host.certPath) } : {}),
    sshOpts: host.sshOpts,
});

/**
 * A provider for the datacenter's own Docker host, or undefined for the local engine: its resources then
 * keep the default provider, so a stack on one local host is exactly what it was before hosts existed.
 */
export function dockerProvider(
    name: string,
    host: DockerHostModel,
    opts: pulumi.CustomResourceOptions,
): docker.Provider | undefined {
    if (host.endpoint === undefined) {
        return undefined;
    }
    return new docker.Provider(
        name,
        {
            host: host.endpoint,
            // Relative to the project, where Pulumi runs the program.
            ...(host.certPath !== undefined ? { certPath: path.resolve(host.certPath) } : {}),
            ...(host.sshOpts.length > 0 ? { sshOpts: [...host.sshOpts] } : {}),
        },
        opts,
    );
}
