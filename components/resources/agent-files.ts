// The files each agent's container starts with: the commented base config of its role, the generated
// agent.json, its secrets (gossip key, ACL tokens, TLS key) and what it waits for on its first start. Which files an
// agent gets follows from the topology model alone; the content of the secret ones arrives as Outputs.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { type AgentModel, baseConfigFiles, type DatacenterModel } from "../model/stack-model";
import { aclTokensConfig } from "../render/acl";
import { agentConfig, configDir, gossipConfig, renderJson, tlsDir } from "../render/agent-config";
import { agentReadyScript, readyScriptPath } from "../render/agent-ready";
import { meshAgentConfig, meshConfigFile } from "../render/mesh";
import { peeringConfigFile, peeringServerConfig, takesPart } from "../render/peering";
import type { CertificatePem } from "./certificates";

/**
 * The container's command, given to `sh -c` rather than uploaded: each upload is one more Docker API
 * call between a replaced agent's removal and its start, while its published port is down.
 */
const startScript = fs.readFileSync(path.join(__dirname, "..", "render", "agent-start.sh"), "utf8");
const leaderCheck = '"\\"$self:8300\\""';

/**
 * The start script of an agent. Its leader check names the server RPC port, 8300, which servers across
 * Docker hosts move (docker-hosts.ts); they get the port they bind, while every other agent keeps the
 * exact script, so a running stack sees no change.
 */
export function agentStartScript(agent: AgentModel): string {
    const port = agent.hostPorts?.server ?? 8300;
    return port === 8300 ? startScript : startScript.replace(leaderCheck, leaderCheck.replace("8300", String(port)));
}

export interface AgentFile {
    readonly file: string;
    readonly content: pulumi.Input<string>;
}

/** What one datacenter's agents share; every secret in it is an Input the stack treats as a secret. */
export interface DatacenterFiles {
    /** The base config files (common.hcl, server.hcl, client.hcl) by name, as read from baseConfigDir. */
    readonly baseConfig: Readonly<Record<string, string>>;
    readonly gossipKey: pulumi.Input<string>;
    readonly caCertPem: pulumi.Input<string>;
    /** Servers present this certificate for server.<dc>.consul. */
    readonly serverCert: CertificatePem;
    /** Clients present this one for RPC and on their HTTPS API; undefined when the datacenter has no clients. */
    readonly clientCert?: CertificatePem;
    /** Each agent's own token (its secret ID), by agent name. */
    readonly agentTokens: Readonly<Record<string, pulumi.Input<string>>>;
    /** Primary servers only. */
    readonly initialManagementToken?: pulumi.Input<string>;
    /** Secondary servers only. */
    readonly replicationToken?: pulumi.Input<string>;
    /** The service mesh is on: every agent runs Connect. */
    readonly mesh: boolean;
    /** services.json for the agent that registers the demo services, and which agent that is. */
    readonly services?: { readonly host: string; readonly definitions: pulumi.Input<string> };
}

/** The files one agent starts with; `shared.agentTokens` must hold the agent's token. */
export function agentFiles(dc: DatacenterModel, agent: AgentModel, shared: DatacenterFiles): AgentFile[] {
    const agentToken = shared.agentTokens[agent.name];
    const isServer = agent.role === "server";
    const tokens = pulumi
        .all([
            agentToken,
            isServer ? shared.initialManagementToken : undefined,
            isServer ? shared.replicationToken : undefined,
        ])
        .apply(([agentToken, initialManagement, replication]) =>
            renderJson(aclTokensConfig({ agent: agentToken, initialManagement, replication })),
        );
    // What this agent waits for on its first start (nothing for the primary's servers).
    const readyScript = agentReadyScript(dc, agent);
    // A client exists only in a datacenter with a client certificate.
    const cert = (isServer ? shared.serverCert : shared.clientCert) as CertificatePem;
    const certBase = agent.role;
    return [
        ...baseConfigFiles[agent.role].map((file) => ({
            file: `${configDir}/${file}`,
            content: shared.baseConfig[file],
        })),
        { file: `${configDir}/agent.json`, content: renderJson(agentConfig(dc, agent)) },
        ...(shared.mesh ? [{ file: `${configDir}/${meshConfigFile}`, content: meshAgentConfig }] : []),
        ...(isServer && takesPart(dc)
            ? [{ file: `${configDir}/${peeringConfigFile}`, content: peeringServerConfig }]
            : []),
        {
            file: `${configDir}/gossip.json`,
            content: pulumi.secret(pulumi.output(shared.gossipKey).apply((key) => renderJson(gossipConfig(key)))),
        },
        { file: `${configDir}/acl-tokens.json`, content: pulumi.secret(tokens) },
        { file: `${tlsDir}/ca.pem`, content: shared.caCertPem },
        { file: `${tlsDir}/${certBase}.pem`, content: cert.certPem },
        { file: `${tlsDir}/${certBase}-key.pem`, content: cert.privateKeyPem },
        ...(readyScript ? [{ file: readyScriptPath, content: readyScript }] : []),
        ...(shared.services && shared.services.host === agent.name
            ? [{ file: `${configDir}/services.json`, content: shared.services.definitions }]
            : []),
    ];
}
