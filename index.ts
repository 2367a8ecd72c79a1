// The dev stack: its config (Pulumi.<stack>.yaml) → one ConsulFederation → the stack outputs.
import * as pulumi from "@pulumi/pulumi";
import { ConsulFederation, type DatacenterSettings, type IntentionSettings } from "./components";
import { readBaseConfig, readNamedFile } from "./components/resources/stack-files";

const config = new pulumi.Config();

// Stacks deployed before ConsulFederation existed hold its children at the stack's root, named as they are
// now or without the "consul-" prefix: these aliases let such a stack update in place, replacing nothing.
const wereAtTheRoot: pulumi.ResourceTransformation = ({ type, name, props, opts }) =>
    opts.parent instanceof ConsulFederation
        ? {
              props,
              opts: pulumi.mergeOptions(opts, {
                  aliases: [pulumi.createUrn(name, type), pulumi.createUrn(name.replace(/^consul-/, ""), type)],
              }),
          }
        : undefined;

const federation = new ConsulFederation(
    "consul",
    {
        image: config.require("image"),
        datacenters: config.requireObject<DatacenterSettings[]>("datacenters"),
        wanSubnet: config.require("wanSubnet"),
        publishAddress: config.require("publishAddress"),
        namePrefix: config.get("namePrefix") ?? "",
        // Read as plain text only to validate it; from here on it travels as a secret.
        gossipKey: config.get("gossipKey"),
        demoImage: config.require("demoImage"),
        envoyImage: config.require("envoyImage"),
        keepData: config.requireBoolean("keepData"),
        dnsAnonymousRead: config.requireBoolean("dnsAnonymousRead"),
        failoverQueries: config.requireBoolean("failoverQueries"),
        mesh: config.requireBoolean("mesh"),
        meshGateways: config.requireBoolean("meshGateways"),
        intentions: config.requireObject<IntentionSettings[]>("intentions"),
        // Paths in the config are relative to the project.
        kvSeed: readNamedFile(config.require("kvSeed"), __dirname),
        baseConfig: readBaseConfig(config.require("baseConfigDir"), __dirname),
    },
    { transformations: [wereAtTheRoot] },
);

export const uiUrls = federation.uiUrls;
export const httpAddrs = federation.httpAddrs;
export const dnsAddrs = federation.dnsAddrs;
export const containers = federation.containers;
export const gossipKey = federation.gossipKey;
export const aclBootstrapToken = federation.aclBootstrapToken;
/** By datacenter: its cluster's management token (a peering datacenter has its own). */
export const aclBootstrapTokens = federation.aclBootstrapTokens;
/** By peering datacenter: the state of its peering with the first datacenter, on each side. */
export const peerings = federation.peerings;
/** The example app's least-privilege token: reads the demo services and its KV prefix. */
export const appToken = federation.appToken;
export const appKvPrefix = federation.appKvPrefix;
/** Where ACLs and the KV seed live. */
export const primaryDatacenter = federation.primaryDatacenter;
/** Demo service names by datacenter. */
export const services = federation.services;
/** The mesh demo's URL: `curl` it to see which `web` instance, in which datacenter, answered. */
export const meshDemoUrl = federation.meshDemoUrl;
/** Trust this CA to reach the HTTPS UI and API: `curl --cacert`, or your browser's certificate store. */
export const caCertPem = federation.caCertPem;
/** By datacenter: the host ports the other sites must reach on its host, to write the firewall rules from. */
export const sitePorts = federation.sitePorts;
