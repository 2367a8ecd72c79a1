// The cluster tier needs a Docker Engine, the Consul, demo and Envoy images, Chromium and the Pulumi engine with the plugin
// versions package.json pins. A missing one fails the run with the script that provides it; nothing skips.
import * as fs from "node:fs";
import * as path from "node:path";
import type { PulumiCommand } from "@pulumi/pulumi/automation";
import { docker } from "../support/docker";
import { findPulumi } from "../support/engine";
import { run } from "../support/process";
import { projectRoot, stackConfig } from "../support/program";

export const chromiumPath = "/usr/bin/chromium";

/** Resource plugins the SDKs in package.json will ask the engine for, e.g. "docker 5.2.0". */
function pinnedPlugins(): string[] {
    const deps = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")).dependencies as Record<
        string,
        string
    >;
    return ["docker", "random", "tls"].map((p) => `${p} ${deps[`@pulumi/${p}`]}`);
}

export async function checkPrerequisites(image: string): Promise<PulumiCommand> {
    const problems: string[] = [];
    const info = await docker(["info", "--format", "{{.ServerVersion}}"], 20_000);
    if (info.code !== 0) {
        problems.push(
            `no Docker Engine answers (${info.stderr.trim().split("\n")[0]}): run scripts/ensure-docker.sh (or npm run prereqs)`,
        );
    } else {
        const config = stackConfig();
        const images = [
            [image, "ensure-consul-image.sh"],
            [config.demoImage as string, "ensure-demo-image.sh"],
            [config.envoyImage as string, "ensure-envoy-image.sh"],
        ];
        for (const [name, script] of images) {
            if ((await docker(["image", "inspect", name])).code !== 0) {
                problems.push(
                    `the image ${name} is not on this Docker host: run scripts/${script} (or npm run prereqs)`,
                );
            }
        }
    }
    if (!fs.existsSync(chromiumPath)) {
        problems.push(`${chromiumPath} is missing: run scripts/ensure-chromium.sh (or npm run prereqs)`);
    }
    const pulumi = await findPulumi();
    if (!pulumi) {
        problems.push("no pulumi CLI on PATH or in ~/.pulumi/bin: run scripts/ensure-pulumi.sh (or npm run prereqs)");
    } else {
        // The nodejs dynamic provider runs the stack's dynamic resources (the failover queries).
        const dynamic = path.join(path.dirname(pulumi.command), "pulumi-resource-pulumi-nodejs");
        if (
            !fs.existsSync(dynamic) &&
            (await run("sh", ["-c", "command -v pulumi-resource-pulumi-nodejs"])).code !== 0
        ) {
            problems.push(
                `${dynamic} (the nodejs dynamic provider) is missing: run scripts/ensure-pulumi.sh (or npm run prereqs)`,
            );
        }
        const plugins = await run(pulumi.command, ["plugin", "ls", "--json"], {
            env: { PULUMI_SKIP_UPDATE_CHECK: "1" },
        });
        if (plugins.code !== 0) {
            problems.push(`\`${pulumi.command} plugin ls\` failed (${plugins.code}): ${plugins.stderr.trim()}`);
        } else {
            const listed = JSON.parse(plugins.stdout || "[]") as { name: string; kind: string; version: string }[];
            const have = listed.filter((p) => p.kind === "resource").map((p) => `${p.name} ${p.version}`);
            const missing = pinnedPlugins().filter((p) => !have.includes(p));
            if (missing.length > 0) {
                problems.push(
                    `${pulumi.command} lacks the resource plugins ${missing.join(", ")} that package.json pins: run scripts/ensure-pulumi.sh (or npm run prereqs)`,
                );
            }
        }
    }
    if (problems.length > 0 || !pulumi) {
        throw new Error(`The cluster tier cannot run:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    return pulumi;
}
