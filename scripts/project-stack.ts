// What `npm start`, `npm run down` and `npm run status` share: the dev stack on the project's own backend
// (scripts/pulumi.sh), opened through stack-access.ts, and the checks they make of what runs.
import * as path from "node:path";
import { consulCall } from "../components/resources/consul-api";
import { dockerSync } from "./docker-cli";
import { openStack, type StackAccess, type StackOutputs } from "./stack-access";
import { projectRoot } from "./stack-config";

export const localDir = path.join(projectRoot, ".pulumi-local");

/** The dev stack, on the project's backend (made if need be). */
export const openDevStack = (): StackAccess => openStack({ projectBackend: true });

/** The stack's containers that Docker no longer has on their hosts: removed by hand, so the state still lists them. */
export function goneContainers(stack: StackAccess, outputs: StackOutputs): string[] {
    return stack.model.datacenters.flatMap((dc) => {
        const names = outputs.containers[dc.name];
        return names
            ? [...names.servers, ...names.clients].filter(
                  (c) => dockerSync([...stack.engine(dc.name), "container", "inspect", c]).code !== 0,
              )
            : [];
    });
}

/** The leader a datacenter's published API names (over HTTPS, trusting the stack's CA), or undefined when it gives none. */
export async function leaderOf(httpAddr: string, ca: string): Promise<string | undefined> {
    const answer = await consulCall({ httpAddr, caPem: ca }, "GET", "/v1/status/leader", undefined, 5000).catch(
        () => undefined,
    );
    return answer?.status === 200 && /:\d+"$/.test(answer.body.trim())
        ? (JSON.parse(answer.body) as string)
        : undefined;
}
