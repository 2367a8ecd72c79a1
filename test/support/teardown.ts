// Removing a stack's cluster: `pulumi destroy` through the engine when the state is there, then a sweep by
// the `consul.stack` label for anything a lost state left behind. The image always stays.
import type { PulumiCommand } from "@pulumi/pulumi/automation";
import { dockerOk } from "./docker";
import { echo, existingStack, removeStack, tierStack } from "./engine";

// In removal order: networks and volumes can only go once no container uses them.
const kinds = {
    container: { list: ["container", "ls", "--all", "--format", "{{.Names}}"], remove: ["container", "rm", "--force"] },
    network: { list: ["network", "ls", "--format", "{{.Name}}"], remove: ["network", "rm"] },
    volume: { list: ["volume", "ls", "--format", "{{.Name}}"], remove: ["volume", "rm", "--force"] },
};

/** `engine` is docker's -H flag for another engine than the default. */
async function labelled(kind: keyof typeof kinds, stack: string, engine: readonly string[]): Promise<string[]> {
    const out = await dockerOk([...engine, ...kinds[kind].list, "--filter", `label=consul.stack=${stack}`]);
    return out.split("\n").filter(Boolean);
}

/** Everything on a Docker host labelled as the stack's, e.g. ["container dc1-server1", …]. */
export async function leftovers(stack = tierStack, engine: readonly string[] = []): Promise<string[]> {
    const found: string[] = [];
    for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) {
        found.push(...(await labelled(kind, stack, engine)).map((name) => `${kind} ${name}`));
    }
    return found;
}

/**
 * Destroys a kept stack (if its backend is still there), then removes whatever still carries its label on each of `engines`,
 * and then the stack: an interrupted `up` can leave containers the state never recorded, which keep their
 * networks in use, so the sweep runs whether or not the destroy succeeded.
 */
export async function tearDown(
    pulumi: PulumiCommand,
    name = tierStack,
    engines: readonly (readonly string[])[] = [[]],
): Promise<string[]> {
    const stack = await existingStack(pulumi, name);
    let destroyError: unknown;
    if (stack) {
        await stack.cancel().catch(() => undefined);
        await stack.destroy({ onOutput: echo("  destroy |") }).catch((e) => (destroyError = e));
    }
    for (const engine of engines) {
        for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) {
            const names = await labelled(kind, name, engine);
            if (names.length > 0) {
                await dockerOk([...engine, ...kinds[kind].remove, ...names]);
            }
        }
    }
    if (stack) {
        // Whatever the destroy could not delete is gone now; the state may still list it.
        if (destroyError) await stack.refresh().catch(() => undefined);
        await removeStack(stack);
    }
    return (await Promise.all(engines.map((engine) => leftovers(name, engine)))).flat();
}
