// An agent's acl-tokens.json: the tokens it holds, as the stack uploads the file (unit tier) or as its
// container holds it (cluster tier). Secrets: never logged.
import { fileIn } from "./docker";

export interface AgentTokens {
    readonly agent: string;
    /** Only the primary datacenter's servers. */
    readonly initial_management?: string;
    /** Only the other datacenters' servers. */
    readonly replication?: string;
}

/** The tokens in the text of an acl-tokens.json. */
export function parseAclTokens(json: string): AgentTokens {
    return JSON.parse(json).acl.tokens as AgentTokens;
}

/** The tokens the agent in `container` holds. */
export async function aclTokensIn(container: string): Promise<AgentTokens> {
    return parseAclTokens((await fileIn(container, "/consul/config/acl-tokens.json")).toString());
}
