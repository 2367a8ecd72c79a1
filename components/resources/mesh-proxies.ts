// The Envoy containers of one datacenter's mesh: a sidecar per demo service instance, which holds the
// instance's LAN address (the instance's container joins its network namespace, so stopping and starting the
// instance leaves the sidecar serving), and the datacenter's mesh gateway.
import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { MeshGatewayModel } from "../model/mesh";
import { meshGatewayService } from "../model/mesh";
import { meshPorts } from "../model/mesh-ports";
import type { ServiceInstance } from "../model/services";
import type { DatacenterModel } from "../model/stack-model";
import { shellHealthcheck } from "../render/healthcheck";
import { envoyEnvironment } from "../render/mesh";
import { addressHolder } from "./service-instances";

const startScript = fs.readFileSync(path.join(__dirname, "..", "render", "envoy-start.sh"), "utf8");
const files = { ca: "/consul/tls/ca.pem", token: "/consul/proxy-token" };

export interface MeshProxyArgs {
    readonly dc: DatacenterModel;
    /** The Envoy image (scripts/ensure-envoy-image.sh builds one). */
    readonly image: pulumi.Input<string>;
    readonly lanNetwork: pulumi.Input<string>;
    /** The WAN network, when the datacenters share one Docker host: the gateways meet on it. */
    readonly wanNetwork?: pulumi.Input<string>;
    readonly caPem: pulumi.Input<string>;
    /** The token each proxy registers and fetches its config with, by service name (a secret). */
    readonly serviceTokens: Readonly<Record<string, pulumi.Input<string>>>;
    readonly hostIp: pulumi.Input<string>;
    readonly labels: (extra: Record<string, string>) => { label: string; value: pulumi.Input<string> }[];
}

/** Envoy is ready once its admin interface says LIVE: it has its first config from the agent. */
const envoyHealthcheck = shellHealthcheck(`wget -q -O - http://127.0.0.1:${meshPorts.admin}/ready | grep -q LIVE`, {
    interval: 1,
    timeout: 2,
    startPeriod: 60,
    retries: 3,
});

/** What every Envoy container shares: the image, the start script, the CA and the proxy's token. */
function envoyContainer(args: MeshProxyArgs, proxyId: string, service: string) {
    return {
        image: args.image,
        command: ["sh", "-c", startScript],
        envs: envoyEnvironment(args.dc, proxyId, files),
        restart: "unless-stopped",
        uploads: [
            { file: files.ca, content: args.caPem, permissions: "0444" },
            // Envoy runs as an unprivileged user; the container holds nothing else to read it.
            { file: files.token, content: pulumi.secret(args.serviceTokens[service]), permissions: "0444" },
        ],
        healthcheck: envoyHealthcheck,
        // Stopped before it is removed, not removed running (`docker rm -f`): Docker 20.10's daemon can crash
        // (a nil pointer in ContainerExecStart) when a healthcheck's exec starts as a running container is removed.
        destroyGraceSeconds: 5,
    };
}

/**
 * The sidecar of one instance: it holds the instance's address, and publishes the instance's port if asked.
 * It keeps the resource name the instance has without the mesh, and the engine deletes the old container
 * before it makes the new one: so turning the mesh on or off in one `pulumi up` hands the address over
 * instead of asking Docker for it twice.
 */
export function sidecarContainer(
    name: string,
    i: ServiceInstance & { readonly sidecar: NonNullable<ServiceInstance["sidecar"]> },
    args: MeshProxyArgs,
    opts: pulumi.CustomResourceOptions,
): docker.Container {
    return new docker.Container(
        addressHolder(name, i),
        {
            ...envoyContainer(args, i.sidecar.proxyId, i.service),
            name: i.sidecar.container,
            hostname: i.id,
            labels: args.labels({ "consul.role": "sidecar", "consul.service": i.service }),
            networksAdvanced: [{ name: args.lanNetwork, ipv4Address: i.address, aliases: [i.id] }],
            ports:
                i.publishPort !== undefined
                    ? [{ internal: i.port, external: i.publishPort, ip: args.hostIp, protocol: "tcp" }]
                    : [],
        },
        { ...opts, deleteBeforeReplace: true },
    );
}

/** The datacenter's mesh gateway: on its LAN and, on one Docker host, on the WAN network too. */
export function gatewayContainer(
    name: string,
    gateway: MeshGatewayModel,
    args: MeshProxyArgs,
    opts: pulumi.CustomResourceOptions,
): docker.Container {
    return new docker.Container(
        `${name}-mesh-gateway`,
        {
            ...envoyContainer(args, gateway.id, meshGatewayService),
            name: gateway.id,
            hostname: gateway.id,
            labels: args.labels({ "consul.role": "mesh-gateway" }),
            networksAdvanced: [
                { name: args.lanNetwork, ipv4Address: gateway.lanAddress, aliases: [gateway.id] },
                ...(args.wanNetwork && gateway.hostPort === undefined
                    ? [{ name: args.wanNetwork, ipv4Address: gateway.wan.address }]
                    : []),
            ],
            // Across hosts the other datacenters' gateways reach it on its host's address, so it publishes there
            // (as the servers do), not on publishAddress, which is 127.0.0.1 for the local engine by default.
            ports:
                gateway.hostPort !== undefined
                    ? [
                          {
                              internal: meshPorts.gateway,
                              external: gateway.hostPort,
                              ip: gateway.wan.address,
                              protocol: "tcp",
                          },
                      ]
                    : [],
        },
        opts,
    );
}
