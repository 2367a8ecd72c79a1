// What the cluster tier's groups of tests read from the stack it made (cluster.test.ts owns it). Each
// group gets a getter and calls it at the start of each test: a stack made again (the data tests) has
// new tokens and a new CA.
import type { Stack } from "@pulumi/pulumi/automation";
import type { ConsulCli } from "./consul-cli";

export interface Cluster {
    readonly stack: Stack;
    readonly httpAddrs: Record<string, string>;
    readonly uiUrls: Record<string, string>;
    readonly ca: string;
    /** The management token (the aclBootstrapToken output). */
    readonly token: string;
    readonly gossipKey: string;
    /** The consul CLI in the containers, with the management token. */
    readonly consul: ConsulCli;
}
