// Every key the stack config takes, at each level: the one list the parser checks unknown keys against
// and the docs' configuration reference is tested against. The `satisfies` clauses keep each list in step
// with the settings types: a key added to a type and not here, or here and not there, fails to compile.
import type { IntentionSettings } from "./mesh";
import type { ServiceSettings } from "./services";
import type { DatacenterSettings, StackSettings } from "./settings";

type Exhaustive<T, K extends readonly (keyof T)[]> = Exclude<keyof T, K[number]> extends never ? K : never;

const datacenterKeys = [
    "name",
    "servers",
    "clients",
    "subnet",
    "httpPort",
    "dnsPort",
    "services",
    "dockerHost",
    "dockerCertPath",
    "dockerSshOpts",
    "hostAddress",
    "federation",
] as const;
export const datacenterConfigKeys: Exhaustive<DatacenterSettings, typeof datacenterKeys> = datacenterKeys;

const serviceKeys = ["name", "port", "tags", "instances", "check", "upstream", "publishPort"] as const;
export const serviceConfigKeys: Exhaustive<ServiceSettings, typeof serviceKeys> = serviceKeys;

const checkKeys = ["path", "intervalSeconds"] as const;
export const serviceCheckConfigKeys: Exhaustive<NonNullable<ServiceSettings["check"]>, typeof checkKeys> = checkKeys;

const intentionKeys = ["source", "destination", "action"] as const;
export const intentionConfigKeys: Exhaustive<IntentionSettings, typeof intentionKeys> = intentionKeys;

/** The stack's own keys (Pulumi.<stack>.yaml, under the project's namespace): files are named by path. */
export const stackConfigKeys = [
    "image",
    "datacenters",
    "wanSubnet",
    "publishAddress",
    "namePrefix",
    "gossipKey",
    "demoImage",
    "envoyImage",
    "keepData",
    "dnsAnonymousRead",
    "failoverQueries",
    "mesh",
    "meshGateways",
    "intentions",
    "kvSeed",
    "baseConfigDir",
] as const satisfies readonly (keyof StackSettings | "baseConfigDir")[];
