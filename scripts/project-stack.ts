// What `npm start`, `npm run down` and `npm run status` share: the dev stack on the project's own backend
// (scripts/pulumi.sh), opened through stack-access.ts, and the checks they make of what runs.
import * as path from "node:path";
import type { StackModel } from "../components/model/stack-model";
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

/**
 * The mesh's service instances that Docker left stopped, each started again once its sidecar runs: an instance
 * joins its sidecar's network namespace, and after a Docker daemon restart (or a reboot) Docker starts
 * containers in no order, so an instance it tries before its sidecar fails for good (moby/moby#11777).
 * The instances it started.
 */
export function startStrandedInstances(model: StackModel, engine: (datacenter: string) => string[]): string[] {
    return model.datacenters.flatMap((dc) =>
        dc.instances.flatMap((i) => {
            const on = engine(dc.name);
            const running = (c: string) => dockerSync([...on, "inspect", "--format", "{{.State.Running}}", c]);
            const instance = running(i.id);
            if (!i.sidecar || instance.code !== 0 || instance.stdout.trim() === "true") {
                return [];
            }
            if (running(i.sidecar.container).stdout.trim() !== "true") {
                dockerSync([...on, "start", i.sidecar.container]);
            }
            return dockerSync([...on, "start", i.id]).code === 0 ? [i.id] : [];
        }),
    );
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
