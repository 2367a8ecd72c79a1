// Stack config → validated topology → one ConsulDatacenter per datacenter → stack outputs.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ConsulDatacenter } from "./components/consul-datacenter";
import { ConfigProblems, DatacenterSettings, planStack, StackPlan } from "./components/topology";

const config = new pulumi.Config();

function plan(): StackPlan {
    try {
        return planStack({
            image: config.require("image"),
            datacenters: config.requireObject<DatacenterSettings[]>("datacenters"),
            wanSubnet: config.require("wanSubnet"),
            publishAddress: config.require("publishAddress"),
            namePrefix: config.get("namePrefix") ?? "",
            // Read as plain text only to validate it; from here on it travels as a secret.
            gossipKey: config.get("gossipKey"),
        });
    } catch (e) {
        // RunError prints the message alone, without a stack trace: the message names the config key.
        throw e instanceof ConfigProblems ? new pulumi.RunError(e.message) : e;
    }
}

const stack = plan();
stack.warnings.forEach((w) => pulumi.log.warn(w));
const namePrefix = config.get("namePrefix") ?? "";
const userGossipKey = config.get("gossipKey");

// One key for every agent in every datacenter: 32 random bytes, as `consul keygen` makes.
const gossipKeyValue: pulumi.Output<string> = pulumi.secret(
    userGossipKey ?? new random.RandomBytes("gossip-key", { length: 32 }).base64,
);

const wanNetwork = new docker.Network("wan", {
    name: `${namePrefix}consul-wan`,
    driver: "bridge",
    ipamConfigs: [{ subnet: stack.wan.subnet, gateway: stack.wan.gateway }],
    labels: [
        { label: "consul.stack", value: pulumi.getStack() },
        { label: "consul.role", value: "wan" },
    ],
});

const datacenters: ConsulDatacenter[] = [];
for (const dc of stack.datacenters) {
    const primary = datacenters[0];
    datacenters.push(
        new ConsulDatacenter(dc.name, {
            datacenter: dc.name,
            primaryDatacenter: stack.primaryDatacenter,
            servers: dc.servers,
            clients: dc.clients,
            subnet: dc.subnet,
            namePrefix,
            image: config.require("image"),
            gossipKey: gossipKeyValue,
            wan: {
                network: wanNetwork.name,
                serverAddresses: dc.wanAddresses,
                join: primary ? primary.serverWanAddresses : [],
            },
            ports: { http: dc.httpPort, dns: dc.dnsPort, hostIp: config.require("publishAddress") },
        }),
    );
}

const byDatacenter = <T>(pick: (dc: ConsulDatacenter) => pulumi.Output<T>) =>
    pulumi.all(Object.fromEntries(stack.datacenters.map((dc, i) => [dc.name, pick(datacenters[i])])));

export const uiUrls = byDatacenter((dc) => dc.uiUrl);
export const httpAddrs = byDatacenter((dc) => dc.httpAddr);
export const dnsAddrs = byDatacenter((dc) => dc.dnsAddr);
export const containers = byDatacenter((dc) =>
    pulumi.all({ servers: dc.serverNames, clients: dc.clientNames }),
);
export const gossipKey = gossipKeyValue;
