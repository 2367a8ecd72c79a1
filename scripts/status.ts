// `npm run status`: whether the dev cluster runs and is healthy, per datacenter: its agents' containers
// (Docker's healthcheck: the agent knows its leader) and its published API, as an application reaches it.
// Exits 0 only when every datacenter is healthy.
import { datacenters, goneContainers, leaderOf, runDocker, stackOutputs } from "./project-stack";

async function main(): Promise<number> {
    const outputs = stackOutputs();
    if (!outputs) {
        console.log("status: the dev cluster is not deployed (npm start brings it up).");
        return 1;
    }
    const gone = goneContainers(outputs);
    let healthy = true;
    for (const { settings, engine } of datacenters()) {
        const names = outputs.containers[settings.name];
        if (!names) continue;
        const agents = [...names.servers, ...names.clients];
        const states = agents.map((a) => runDocker([...engine, "inspect", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", a]).stdout.trim());
        const good = states.filter((s) => s === "running healthy").length;
        const addr = outputs.httpAddrs[settings.name];
        const lead = await leaderOf(addr, outputs.caCertPem);
        const ok = good === agents.length && lead !== undefined;
        healthy &&= ok;
        const missing = agents.filter((a) => gone.includes(a));
        console.log(
            `status: ${settings.name}  ${ok ? "healthy" : "NOT healthy"}  agents ${good}/${agents.length} running and healthy` +
                `${missing.length > 0 ? ` (gone: ${missing.join(", ")}; npm start refreshes the state and makes them again)` : ""}` +
                `  API ${addr} ${lead ? `leader ${lead}` : "no leader answer"}  ${outputs.uiUrls[settings.name]}`,
        );
    }
    return healthy ? 0 : 1;
}

main().then((code) => process.exit(code));
