// ACL tokens whose IDs the stack fixes before Consul knows them.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { TokenSpec } from "../render/acl";
import { randomSecretUuid } from "./secret-random";

/**
 * A token whose accessor and secret IDs are random UUIDs fixed in the stack's state, so the agent that
 * uses it can be configured before the token exists in Consul. The secret ID is a Pulumi secret, never a
 * resource ID (see secret-random.ts); the accessor ID is an identifier, not a credential.
 */
export function fixedToken(
    name: string,
    grant: Omit<TokenSpec, "accessorId" | "secretId">,
    opts?: pulumi.CustomResourceOptions,
): pulumi.Output<TokenSpec> {
    const accessorId = new random.RandomUuid(`${name}-accessor`, {}, opts).result;
    const secretId = randomSecretUuid(`${name}-secret`, opts);
    return pulumi
        .all([accessorId, secretId])
        .apply(([accessor, secret]) => ({ ...grant, accessorId: accessor, secretId: secret }));
}
