// `npm run status`: whether the dev cluster runs and is healthy, per datacenter: its agents' containers on
// its Docker host (Docker's healthcheck: the agent knows its leader) and its published API, as an
// application reaches it. Exits 0 only when every datacenter is healthy.
import { dockerSync } from "./docker-cli";
import { goneContainers, leaderOf, openDevStack } from "./project-stack";
import { runMain } from "./stack-access";

async function main(): Promise<number> {
    const stack = openDevStack();
    const outputs = stack.outputs;
    if (!outputs) {
        console.log("status: the dev cluster is not deployed (npm start brings it up).");
        return 1;
    }
    const gone = goneContainers(stack, outputs);
    let healthy = true;
    for (const dc of stack.model.datacenters) {
        const names = outputs.containers[dc.name];
        if (!names) continue;
        const agents = [...names.servers, ...names.clients];
        const states = agents.map((a) =>
            dockerSync([
                ...stack.engine(dc.name),
                "inspect",
                "--format",
                "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                a,
            ]).stdout.trim(),
        );
        const good = states.filter((s) => s === "running healthy").length;
        const addr = outputs.httpAddrs[dc.name];
        const lead = await leaderOf(addr, outputs.caCertPem);
        const ok = good === agents.length && lead !== undefined;
        healthy &&= ok;
        const missing = agents.filter((a) => gone.includes(a));
        console.log(
            `status: ${dc.name}  ${ok ? "healthy" : "NOT healthy"}  agents ${good}/${agents.length} running and healthy` +
                `${missing.length > 0 ? ` (gone: ${missing.join(", ")}; npm start refreshes the state and makes them again)` : ""}` +
                `  API ${addr} ${lead ? `leader ${lead}` : "no leader answer"}  ${outputs.uiUrls[dc.name]}`,
        );
    }
    return healthy ? 0 : 1;
}

runMain("status", main);
