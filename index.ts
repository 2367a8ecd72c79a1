// Stack config → validated topology → the stack's CA, ACL tokens and WAN network → one ConsulDatacenter
// per datacenter (the first is primary) and the ACL bootstrap → stack outputs.
import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AclBootstrap, fixedToken } from "./components/acl-bootstrap";
import { appPolicyName, appPolicyRules, dnsPolicyName, dnsPolicyRules, replicationPolicyName, replicationPolicyRules } from "./components/acl";
import { baseConfigFiles } from "./components/agent-config";
import { certificateAuthority } from "./components/certificates";
import { ConsulDatacenter } from "./components/consul-datacenter";
import { runningDatacenters, runningShape, shapeChangeProblems } from "./components/deployed-shape";
import { parseKvSeed } from "./components/kv-seed";
import { stackLabels } from "./components/labels";
import { randomGossipKey, randomSecretUuid } from "./components/secret-random";
import { ConfigProblems, datacenterModel, DatacenterSettings, planStack, StackPlan, StackSettings } from "./components/topology";

const config = new pulumi.Config();
const settings: StackSettings = {
    image: config.require("image"),
    datacenters: config.requireObject<DatacenterSettings[]>("datacenters"),
    wanSubnet: config.require("wanSubnet"),
    publishAddress: config.require("publishAddress"),
    namePrefix: config.get("namePrefix") ?? "",
    // Read as plain text only to validate it; from here on it travels as a secret.
    gossipKey: config.get("gossipKey"),
    demoImage: config.require("demoImage"),
};
const kvSeedFile = config.require("kvSeed");
const baseConfigDir = config.require("baseConfigDir");
const keepData = config.requireBoolean("keepData");
const dnsAnonymousRead = config.requireBoolean("dnsAnonymousRead");

// The example app (examples/app.ts): its own least-privilege token reads its KV prefix and discovers services.
const appService = "example-app";
const appKvPrefixValue = `${appService}/`;

/** The KV seed file, relative to the project; a problem names the kvSeed config key. */
function readKvSeed(): [string, string][] {
    const file = path.resolve(__dirname, kvSeedFile);
    try {
        return parseKvSeed(fs.readFileSync(file, "utf8"), "kvSeed", kvSeedFile);
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new pulumi.RunError(err.code === "ENOENT" ? `kvSeed: ${kvSeedFile} does not exist (paths are relative to ${__dirname})` : err.message);
    }
}

/** The base config files every agent loads, by name; a problem names the baseConfigDir config key. */
function readBaseConfig(): Record<string, string> {
    const dir = path.resolve(__dirname, baseConfigDir);
    const files = [...new Set(Object.values(baseConfigFiles).flat())];
    const missing = files.filter((f) => !fs.existsSync(path.join(dir, f)));
    if (missing.length > 0) {
        throw new pulumi.RunError(
            `baseConfigDir: ${baseConfigDir} must hold ${files.join(", ")} (copy consul-config/ and change it); ${missing.join(", ")} missing`,
        );
    }
    return Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

function plan(): StackPlan {
    try {
        return planStack(settings);
    } catch (e) {
        // RunError prints the message alone, without a stack trace: the message names the config key.
        throw e instanceof ConfigProblems ? new pulumi.RunError(e.message) : e;
    }
}

const stack = plan();
const kvSeed = readKvSeed();
const baseConfig = readBaseConfig();
if (keepData && !settings.gossipKey) {
    throw new pulumi.RunError(
        "keepData: kept volumes hold the agents' gossip keyring, so the next stack must use the same key. Set one first: " +
            "pulumi config set --secret gossipKey \"$(consul keygen)\" (or 32 random bytes, base64).",
    );
}
stack.warnings.forEach((w) => pulumi.log.warn(w));
const namePrefix = settings.namePrefix;

// One key for every agent in every datacenter: 32 random bytes, as `consul keygen` makes.
const gossipKeyValue: pulumi.Output<string> = settings.gossipKey ? pulumi.secret(settings.gossipKey) : randomGossipKey("gossip-key");

// Every token's secret ID is fixed in advance, so agents start with their tokens in their config.
const managementToken = randomSecretUuid("acl-management-token");
const replicationToken = fixedToken("acl-replication-token", {
    description: "ACL replication for secondary datacenters",
    policy: replicationPolicyName,
});
const models = stack.datacenters.map((dc) => datacenterModel({ ...dc, primaryDatacenter: stack.primaryDatacenter, namePrefix }));
const agentTokens = models.flatMap((dc) =>
    [...dc.servers, ...dc.clients].map((agent) => ({
        agent: agent.name,
        token: fixedToken(`${agent.name}-token`, {
            description: `agent token for ${agent.name}`,
            nodeIdentity: { node: agent.name, datacenter: dc.name },
        }),
    })),
);
const agentSecrets = Object.fromEntries(agentTokens.map((t) => [t.agent, t.token.apply((spec) => spec.secretId)]));

// One token per demo service name, shared by every datacenter that runs it: the client agent registers
// the service with it (a service identity: write on that service only).
const serviceNames = [...new Set(stack.datacenters.flatMap((dc) => (dc.services ?? []).map((s) => s.name)))].sort();
const serviceTokens = serviceNames.map((name) => ({
    name,
    token: fixedToken(`service-${name}-token`, { description: `registers the ${name} service`, serviceIdentity: name }),
}));
const serviceSecrets = Object.fromEntries(serviceTokens.map((t) => [t.name, t.token.apply((spec) => spec.secretId)]));
const appTokenSpec = fixedToken(`${appService}-token`, { description: `${appService} (examples/app.ts)`, policy: appPolicyName });

// The stack's own CA signs every datacenter's server and HTTPS certificates.
const ca = certificateAuthority("consul-ca");

const wanNetwork = new docker.Network("wan", {
    name: `${namePrefix}consul-wan`,
    driver: "bridge",
    ipamConfigs: [{ subnet: stack.wan.subnet, gateway: stack.wan.gateway }],
    labels: stackLabels({ "consul.role": "wan" }),
});

// What runs now, as the Docker host's networks list it: the servers on the WAN network, and their
// datacenters' subnets. A datacenter whose servers run has them replaced one at a time, and a change the
// running cluster cannot take is refused. Every datacenter waits on the check, so a refusal touches none
// of them, even with --skip-preview. One error for all that fails on it: the engine reports it once.
const lookUpNetwork = (name: string) => docker.getNetwork({ name }).then((n) => n, () => undefined);
const runningServers = lookUpNetwork(`${namePrefix}consul-wan`).then((wan) => wan?.containers ?? []);
const runningServerDatacenters = pulumi.output(runningServers.then((servers) => runningDatacenters(servers, namePrefix)));
const shapeRefusal = pulumi
    .output(
        runningServers.then(async (servers) => {
            const subnets = runningDatacenters(servers, namePrefix).map(async (dc) => [dc, (await lookUpNetwork(`${namePrefix}${dc}-lan`))?.ipamConfigs[0]?.subnet]);
            return runningShape(servers, Object.fromEntries(await Promise.all(subnets)), namePrefix);
        }),
    )
    .apply((running) => {
        const change = shapeChangeProblems(running, stack, namePrefix);
        change.warnings.forEach((w) => pulumi.log.warn(w));
        const heading = "The running cluster cannot take this config in one `pulumi up`";
        return change.problems.length > 0 ? new pulumi.RunError(new ConfigProblems(change.problems, heading).message) : undefined;
    });
const afterShapeCheck = {
    dependsOn: shapeRefusal.apply((refusal): pulumi.Resource[] => {
        if (refusal) {
            throw refusal;
        }
        return [];
    }),
};

const datacenterArgs = (dc: (typeof stack.datacenters)[number]) => ({
    datacenter: dc.name,
    primaryDatacenter: stack.primaryDatacenter,
    servers: dc.servers,
    clients: dc.clients,
    subnet: dc.subnet,
    namePrefix,
    formed: runningServerDatacenters.apply((running) => running.includes(dc.name)),
    keepData,
    baseConfig,
    image: settings.image,
    gossipKey: gossipKeyValue,
    ports: { http: dc.httpPort, dns: dc.dnsPort, hostIp: settings.publishAddress },
    ca,
    services: { settings: dc.services ?? [], image: settings.demoImage, tokens: serviceSecrets },
});

const [primaryPlan, ...secondaryPlans] = stack.datacenters;
const primary = new ConsulDatacenter(primaryPlan.name, {
    ...datacenterArgs(primaryPlan),
    wan: { network: wanNetwork.name, serverAddresses: primaryPlan.wanAddresses, join: [] },
    acl: { agentTokens: agentSecrets, initialManagementToken: managementToken },
}, afterShapeCheck);

// Creates every token in the primary once its servers elect a leader; healthy when all exist.
new AclBootstrap("acl", {
    datacenter: stack.primaryDatacenter,
    image: primary.imageId,
    network: primary.lanNetwork,
    address: primary.utilityAddress,
    serverAddresses: primary.serverLanAddresses,
    caCertPem: ca.certPem,
    managementToken,
    tokens: [...agentTokens.map((t) => t.token), replicationToken, ...serviceTokens.map((t) => t.token), appTokenSpec],
    policies: [
        { name: replicationPolicyName, rules: replicationPolicyRules },
        ...(dnsAnonymousRead ? [{ name: dnsPolicyName, rules: dnsPolicyRules }] : []),
        { name: appPolicyName, rules: appPolicyRules({ service: appService, kvPrefix: appKvPrefixValue, discovers: serviceNames }) },
    ],
    anonymous: { policy: dnsPolicyName, grant: dnsAnonymousRead },
    kv: kvSeed,
    namePrefix,
}, afterShapeCheck);

// Secondary datacenters join the primary's servers over the WAN pool.
const datacenters = [
    primary,
    ...secondaryPlans.map(
        (dc) =>
            new ConsulDatacenter(dc.name, {
                ...datacenterArgs(dc),
                wan: { network: wanNetwork.name, serverAddresses: dc.wanAddresses, join: primary.serverWanAddresses },
                acl: { agentTokens: agentSecrets, replicationToken: replicationToken.apply((t) => t.secretId) },
            }, afterShapeCheck),
    ),
];

const byDatacenter = <T>(pick: (dc: ConsulDatacenter) => pulumi.Output<T>) =>
    pulumi.all(Object.fromEntries(stack.datacenters.map((dc, i) => [dc.name, pick(datacenters[i])])));

export const uiUrls = byDatacenter((dc) => dc.uiUrl);
export const httpAddrs = byDatacenter((dc) => dc.httpAddr);
export const dnsAddrs = byDatacenter((dc) => dc.dnsAddr);
export const containers = byDatacenter((dc) =>
    pulumi.all({ servers: dc.serverNames, clients: dc.clientNames }),
);
export const gossipKey = gossipKeyValue;
export const aclBootstrapToken = managementToken;
/** The example app's least-privilege token: reads the demo services and its KV prefix. */
export const appToken = pulumi.secret(appTokenSpec.apply((t) => t.secretId));
export const appKvPrefix = pulumi.output(appKvPrefixValue);
/**
 * Where ACLs and the KV seed live. A refused change of shape fails this output too, so the program fails
 * while its outputs are pending, which is when Pulumi prints a RunError's message without a stack trace.
 */
export const primaryDatacenter = shapeRefusal.apply((refusal) => {
    if (refusal) {
        throw refusal;
    }
    return stack.primaryDatacenter;
});
/** Demo service names by datacenter. */
export const services = pulumi.output(Object.fromEntries(stack.datacenters.map((dc) => [dc.name, (dc.services ?? []).map((s) => s.name)])));
/** Trust this CA to reach the HTTPS UI and API: `curl --cacert`, or your browser's certificate store. */
export const caCertPem = ca.certPem;
