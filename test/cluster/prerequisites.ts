// The cluster tier needs a Docker Engine, the Consul image and Chromium. A missing one fails the run
// with the script that provides it; nothing here skips.
import * as fs from "node:fs";
import { docker } from "./docker";

export const chromiumPath = "/usr/bin/chromium";

export async function checkPrerequisites(image: string): Promise<void> {
    const problems: string[] = [];
    const info = await docker(["info", "--format", "{{.ServerVersion}}"], 20_000);
    if (info.code !== 0) {
        problems.push(`no Docker Engine answers (${info.stderr.trim().split("\n")[0]}): run scripts/ensure-docker.sh (or npm run prereqs)`);
    } else if ((await docker(["image", "inspect", image])).code !== 0) {
        problems.push(`the image ${image} is not on this Docker host: run scripts/ensure-consul-image.sh (or npm run prereqs)`);
    }
    if (!fs.existsSync(chromiumPath)) {
        problems.push(`${chromiumPath} is missing: run scripts/ensure-chromium.sh (or npm run prereqs)`);
    }
    if (problems.length > 0) {
        throw new Error(`The cluster tier cannot run:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}
