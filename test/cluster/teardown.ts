// Removing the tier's cluster: `pulumi destroy` through the engine when the state is there, then a sweep by
// the `consul.stack` label for anything a lost state left behind. The image always stays.
import type { PulumiCommand } from "@pulumi/pulumi/automation";
import { dockerOk } from "./docker";
import { echo, existingTierStack, removeTierStack, tierStack } from "./engine";

// In removal order: networks and volumes can only go once no container uses them.
const kinds = {
    container: { list: ["container", "ls", "--all", "--format", "{{.Names}}"], remove: ["container", "rm", "--force"] },
    network: { list: ["network", "ls", "--format", "{{.Name}}"], remove: ["network", "rm"] },
    volume: { list: ["volume", "ls", "--format", "{{.Name}}"], remove: ["volume", "rm", "--force"] },
};

async function labelled(kind: keyof typeof kinds): Promise<string[]> {
    const out = await dockerOk([...kinds[kind].list, "--filter", `label=consul.stack=${tierStack}`]);
    return out.split("\n").filter(Boolean);
}

/** Everything on this Docker host labelled as the tier's stack, e.g. ["container dc1-server1", …]. */
export async function leftovers(): Promise<string[]> {
    const found: string[] = [];
    for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) {
        found.push(...(await labelled(kind)).map((name) => `${kind} ${name}`));
    }
    return found;
}

/** Destroys a kept stack (if its backend is still there), then removes whatever still carries the label. */
export async function tearDown(pulumi: PulumiCommand): Promise<string[]> {
    const stack = await existingTierStack(pulumi);
    if (stack) {
        await stack.destroy({ onOutput: echo("  destroy |") });
        await removeTierStack(stack);
    }
    for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) {
        const names = await labelled(kind);
        if (names.length > 0) {
            await dockerOk([...kinds[kind].remove, ...names]);
        }
    }
    return leftovers();
}
