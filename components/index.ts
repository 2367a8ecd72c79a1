// The package's entry point (package.json "exports"): another Pulumi program imports the federation from here.

export type { IntentionSettings } from "./model/mesh";
export type { ServiceSettings } from "./model/services";
export type { DatacenterSettings, NamedFile } from "./model/settings";
export type { ConsulFederationArgs } from "./resources/consul-federation";
export { ConsulFederation } from "./resources/consul-federation";
