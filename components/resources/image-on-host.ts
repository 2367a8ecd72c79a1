// A datacenter on another Docker host needs its images on that host. The provider would try to pull a
// missing one there, and with no registry in reach that fails with a pull error that says nothing about
// which host lacks what; this check says how to put the image there.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DatacenterModel } from "../model/stack-model";

/**
 * `image`, once it is on the datacenter's Docker host or its registry answers (the host can then pull
 * it). `parent` is the datacenter's component, whose Docker provider the lookups go through. On the local
 * engine, `image` as it is.
 */
export function imageOnHost(
    dc: DatacenterModel,
    image: pulumi.Input<string>,
    parent: pulumi.Resource,
): pulumi.Input<string> {
    const endpoint = dc.host.endpoint;
    if (endpoint === undefined) {
        return image;
    }
    return pulumi.output(image).apply(async (name) => {
        const onHost = await docker.getRemoteImage({ name }, { parent }).then(
            () => true,
            () => false,
        );
        const pullable =
            onHost ||
            (await docker.getRegistryImage({ name }, { parent }).then(
                () => true,
                () => false,
            ));
        if (!pullable) {
            const flags = dc.host.certPath
                ? ` --tlsverify --tlscacert ${dc.host.certPath}/ca.pem --tlscert ${dc.host.certPath}/cert.pem ` +
                  `--tlskey ${dc.host.certPath}/key.pem`
                : "";
            throw new pulumi.RunError(
                `The image ${name} is not on ${dc.name}'s Docker host (${endpoint}), ` +
                    "and its registry cannot be reached to pull it there. " +
                    `Load it from this machine: docker save ${name} | docker -H ${endpoint}${flags} load`,
            );
        }
        return name;
    });
}
