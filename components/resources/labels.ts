import * as pulumi from "@pulumi/pulumi";

/**
 * Docker labels for everything the stack creates: `consul.stack` always, so a person (or `docker ps
 * --filter label=consul.stack=dev`) can tell this stack's containers, networks and volumes apart.
 */
export function stackLabels(
    labels: Record<string, pulumi.Input<string>>,
): { label: string; value: pulumi.Input<string> }[] {
    return Object.entries({ "consul.stack": pulumi.getStack(), ...labels }).map(([label, value]) => ({ label, value }));
}
