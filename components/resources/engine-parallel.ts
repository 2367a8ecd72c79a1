// `pulumi up` creates each agent's container in one engine operation that lasts until the agent is
// healthy (`wait`), which it can only be once its datacenter has formed: once every server of it runs,
// and, for clients and secondary servers, once consul-acl-init has made their tokens. The engine runs at
// most --parallel operations at once (Pulumi's default: 4 per CPU, 8 on two cores). With more waiting
// containers than that, the ones still queued may be the very servers the others wait for, and
// `pulumi up` hangs until the healthchecks time out. So such a stack is refused at preview instead.

/** The engine's --parallel, as the nodejs language host hands it to the program; undefined when unknown. */
export function engineParallel(env: NodeJS.ProcessEnv = process.env): number | undefined {
    const parallel = Number(env.PULUMI_NODEJS_PARALLEL);
    return Number.isInteger(parallel) && parallel > 0 ? parallel : undefined;
}

/** Why `waiting` containers cannot all start within `parallel` operations; undefined when they can. */
export function parallelProblem(waiting: number, parallel: number | undefined): string | undefined {
    if (parallel === undefined || waiting <= parallel) {
        return undefined;
    }
    return (
        `this stack starts ${waiting} containers (its agents and consul-acl-init) that each wait, inside \`pulumi up\`, until their ` +
        `datacenter has formed, but the engine runs only ${parallel} operations at once (--parallel; Pulumi's default is 4 per CPU). ` +
        `The ones left waiting for a turn could be the servers the others need, and \`pulumi up\` would hang. ` +
        `Run \`pulumi up --parallel ${waiting}\` (or more); npm start does.`
    );
}
