// The demo service instances of one datacenter: one small container each, serving a page that names it
// and its health check path with busybox httpd, on its fixed LAN address (in the mesh, in its sidecar's
// network namespace, which holds that address). The client agent registers them
// (services.ts); these are the real processes its checks ask. Their datacenter's readiness step waits for them
// to be healthy (datacenter-readiness.ts).
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceInstance } from "../model/services";
import { shellHealthcheck } from "../render/healthcheck";
import { instancePages } from "../render/service-definitions";

const webRoot = "/www";

export interface ServiceInstanceArgs {
    readonly instances: readonly ServiceInstance[];
    /** An image with a static busybox (httpd, wget, sh): scripts/ensure-demo-image.sh builds one. */
    readonly image: pulumi.Input<string>;
    readonly network: pulumi.Input<string>;
    readonly labels: (extra: Record<string, string>) => { label: string; value: pulumi.Input<string> }[];
    /** In the mesh: each instance's sidecar container, by instance ID. */
    readonly sidecars?: ReadonlyMap<string, docker.Container>;
    readonly hostIp: pulumi.Input<string>;
}

/**
 * Where an instance listens: in the mesh only on its loopback, where its sidecar reaches it, unless it is
 * published (then it is the way into the mesh, and the host's published port reaches it on its address).
 */
function listenOn(i: ServiceInstance): string {
    return i.sidecar && i.publishPort === undefined ? `127.0.0.1:${i.port}` : String(i.port);
}

/** On its own address, or in its sidecar's network namespace (then the sidecar publishes its port). */
function networking(i: ServiceInstance, args: ServiceInstanceArgs) {
    const sidecar = args.sidecars?.get(i.id);
    if (sidecar) {
        return { networkMode: pulumi.interpolate`container:${sidecar.id}` };
    }
    return {
        hostname: i.id,
        networksAdvanced: [{ name: args.network, ipv4Address: i.address, aliases: [i.id] }],
        ...(i.publishPort !== undefined
            ? { ports: [{ internal: i.port, external: i.publishPort, ip: args.hostIp, protocol: "tcp" }] }
            : {}),
    };
}

/**
 * The resource name of the container that holds an instance's address: the instance itself without the mesh,
 * its sidecar in the mesh (mesh-proxies.ts), whose instance then takes a name of its own.
 */
export const addressHolder = (name: string, i: ServiceInstance): string => `${name}-${i.service}-${i.ordinal}`;

export function serviceInstanceContainers(
    name: string,
    args: ServiceInstanceArgs,
    opts: pulumi.CustomResourceOptions,
): docker.Container[] {
    return args.instances.map(
        (i) =>
            new docker.Container(
                i.sidecar ? `${addressHolder(name, i)}-instance` : addressHolder(name, i),
                {
                    name: i.id,
                    image: args.image,
                    entrypoints: ["/bin/busybox"],
                    command: ["httpd", "-f", "-p", listenOn(i), "-h", webRoot],
                    user: "nobody",
                    restart: "unless-stopped",
                    labels: args.labels({ "consul.role": "service", "consul.service": i.service }),
                    ...networking(i, args),
                    uploads: instancePages(i).map((p) => ({
                        file: `${webRoot}${p.path}`,
                        content: p.content,
                        // Run by httpd as nobody, so executable by all.
                        ...(p.executable ? { permissions: "0755" } : {}),
                    })),
                    healthcheck: shellHealthcheck(`wget -q -O /dev/null http://127.0.0.1:${i.port}${i.checkPath}`, {
                        interval: 1,
                        timeout: 2,
                        startPeriod: 30,
                        retries: 3,
                    }),
                    // Stopped before removal, as the Envoy containers are (mesh-proxies.ts says why); busybox
                    // httpd ignores SIGTERM as PID 1, so Docker kills it after 2 s.
                    ...(i.sidecar ? { destroyGraceSeconds: 2 } : {}),
                },
                // Without the mesh it holds its address: see addressHolder.
                i.sidecar ? opts : { ...opts, deleteBeforeReplace: true },
            ),
    );
}
