// Waiting for the cluster to reach a state, with a deadline and the last error on failure.
import { dockerOk } from "../support/docker";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 200 ms until it returns a value; throws with the last error after `seconds`. */
export async function eventually<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined) {
                return value;
            }
        } catch (e) {
            last = e;
        }
        await sleep(200);
    }
    throw new Error(`${what} did not happen within ${seconds}s${last instanceof Error ? `: ${last.message}` : ""}`);
}

/** Waits until Docker reports the container's healthcheck passing again, e.g. after a restart. */
export const healthyAgain = (container: string, seconds = 60) =>
    eventually(`${container} healthy again`, seconds, async () =>
        (await dockerOk(["inspect", "--format", "{{.State.Health.Status}}", container])).trim() === "healthy"
            ? true
            : undefined,
    );

/** The stack's containers, by their consul.stack label. */
export async function stackContainers(stack: string): Promise<string[]> {
    return (await dockerOk(["ps", "-a", "--filter", `label=consul.stack=${stack}`, "--format", "{{.Names}}"]))
        .trim()
        .split("\n")
        .sort();
}

/** Waits until every one of `containers` passes its healthcheck. */
export async function allHealthy(containers: readonly string[], seconds: number): Promise<void> {
    for (const name of containers) {
        await healthyAgain(name, seconds);
    }
}
