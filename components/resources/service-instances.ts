// The demo service instances of one datacenter: one small container each, serving a page that names it
// and its health check path with busybox httpd, on its fixed LAN address. The client agent registers them
// (services.ts); these are the real processes its checks ask. Their datacenter's readiness step waits for them
// to be healthy (datacenter-readiness.ts).
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
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
}

export function serviceInstanceContainers(
    name: string,
    args: ServiceInstanceArgs,
    opts: pulumi.CustomResourceOptions,
): docker.Container[] {
    return args.instances.map(
        (i) =>
            new docker.Container(
                `${name}-${i.service}-${i.ordinal}`,
                {
                    name: i.id,
                    hostname: i.id,
                    image: args.image,
                    entrypoints: ["/bin/busybox"],
                    command: ["httpd", "-f", "-p", String(i.port), "-h", webRoot],
                    user: "nobody",
                    restart: "unless-stopped",
                    labels: args.labels({ "consul.role": "service", "consul.service": i.service }),
                    networksAdvanced: [{ name: args.network, ipv4Address: i.address, aliases: [i.id] }],
                    uploads: instancePages(i).map((p) => ({ file: `${webRoot}${p.path}`, content: p.content })),
                    healthcheck: shellHealthcheck(`wget -q -O /dev/null http://127.0.0.1:${i.port}${i.checkPath}`, {
                        interval: 1,
                        timeout: 2,
                        startPeriod: 30,
                        retries: 3,
                    }),
                },
                opts,
            ),
    );
}
