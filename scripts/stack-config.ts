// A stack's config as the pulumi CLI hands it to the program: Pulumi.yaml's defaults, then
// Pulumi.<stack>.yaml's values, by key without the project prefix. npm start's checks, the tests and the
// benchmark read it.
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

export const projectRoot = path.resolve(__dirname, "..");
export const project = "consul-multi-dc";

export function stackConfig(stack = "dev", overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const projectFile = YAML.parse(fs.readFileSync(path.join(projectRoot, "Pulumi.yaml"), "utf8"));
    const stackFile = YAML.parse(fs.readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8"));
    const values: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries<{ default?: unknown }>(projectFile.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl) {
            values[key] = decl.default;
        }
    }
    for (const [key, value] of Object.entries(stackFile.config ?? {})) {
        values[key.replace(`${project}:`, "")] = value;
    }
    return { ...values, ...overrides };
}
