// What `npm start`, `npm run down` and `npm run status` share: the dev stack on the project's own
// backend (scripts/pulumi.sh), its outputs, and the Docker engine each of its datacenters runs on.
import { spawnSync } from "node:child_process";
import * as https from "node:https";
import * as path from "node:path";
import { DatacenterSettings } from "../components/model/settings";
import { projectRoot, stackConfig } from "./stack-config";

export const stack = "dev";
export const localDir = path.join(projectRoot, ".pulumi-local");

export interface Run {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs scripts/pulumi.sh on the project's backend; `show` passes the engine's own display through to the terminal. */
export function pulumi(args: readonly string[], show = false): Run {
    const result = spawnSync("bash", [path.join(projectRoot, "scripts", "pulumi.sh"), ...args], {
        cwd: projectRoot,
        env: { ...process.env, PROJECT_BACKEND: "1" },
        stdio: show ? "inherit" : "pipe",
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

export interface Outputs {
    readonly uiUrls: Record<string, string>;
    readonly httpAddrs: Record<string, string>;
    readonly dnsAddrs: Record<string, string>;
    readonly containers: Record<string, { servers: string[]; clients: string[] }>;
    readonly caCertPem: string;
}

/** The stack's outputs (secrets stay hidden), or undefined when it has none: never deployed, or destroyed. */
export function stackOutputs(): Outputs | undefined {
    const out = pulumi(["stack", "output", "--json", "--stack", stack]);
    if (out.code !== 0) {
        return undefined;
    }
    const outputs = JSON.parse(out.stdout || "{}") as Partial<Outputs>;
    return outputs.containers && outputs.httpAddrs ? (outputs as Outputs) : undefined;
}

export function runDocker(args: readonly string[]): Run {
    const result = spawnSync("docker", args, { encoding: "utf8", timeout: 30_000 });
    return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** The stack's datacenters from its config, each with docker's flags for the engine it runs on. */
export function datacenters(): { readonly settings: DatacenterSettings; readonly engine: string[] }[] {
    const config = stackConfig(stack);
    return (config.datacenters as DatacenterSettings[]).map((dc) => {
        const cert = dc.dockerCertPath ? path.resolve(projectRoot, dc.dockerCertPath) : undefined;
        const tls = cert ? ["--tlsverify", "--tlscacert", `${cert}/ca.pem`, "--tlscert", `${cert}/cert.pem`, "--tlskey", `${cert}/key.pem`] : [];
        return { settings: dc, engine: dc.dockerHost ? ["-H", dc.dockerHost, ...tls] : [] };
    });
}

/** The stack's containers that Docker no longer has: removed by hand, so the state still lists them. */
export function goneContainers(outputs: Outputs): string[] {
    return datacenters().flatMap(({ settings, engine }) => {
        const names = outputs.containers[settings.name];
        return names ? [...names.servers, ...names.clients].filter((c) => runDocker([...engine, "container", "inspect", c]).code !== 0) : [];
    });
}

/** The leader a datacenter's published API names (over HTTPS, trusting the stack's CA), or undefined when it gives none. */
export function leaderOf(httpAddr: string, ca: string): Promise<string | undefined> {
    const [host, port] = httpAddr.split(":");
    return new Promise((resolve) => {
        const req = https.get({ host, port: Number(port), path: "/v1/status/leader", ca, agent: false, timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve(res.statusCode === 200 && /:\d+"$/.test(body.trim()) ? JSON.parse(body) : undefined));
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(undefined));
    });
}
