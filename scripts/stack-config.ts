// A stack's config as the program reads it: Pulumi.yaml's defaults, then Pulumi.<stack>.yaml's values, by
// key without the project prefix. The scripts (stack-access.ts), the tests and the benchmark read it.
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

export const projectRoot = path.resolve(__dirname, "..");
export const project = "consul-multi-dc";

type Declaration = { type?: string; default?: unknown } | undefined;

/**
 * `pulumi config set KEY VALUE` (and the Automation API's setConfig) stores text, which the program parses
 * as it reads the key: a boolean with requireBoolean, a key declared without a type (datacenters, a list
 * of objects) with requireObject. So does this. A `secure:` value stays as it is: encrypted.
 */
function asTheProgramReadsIt(value: unknown, decl: Declaration): unknown {
    if (typeof value !== "string" || !decl) {
        return value;
    }
    if (decl.type === "boolean" && (value === "true" || value === "false")) {
        return value === "true";
    }
    if (decl.type === undefined) {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    }
    return value;
}

export function stackConfig(stack = "dev", overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const projectFile = YAML.parse(fs.readFileSync(path.join(projectRoot, "Pulumi.yaml"), "utf8"));
    const stackFile = YAML.parse(fs.readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8"));
    const declared: Record<string, Declaration> = projectFile.config ?? {};
    const values: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(declared)) {
        if (decl && typeof decl === "object" && "default" in decl) {
            values[key] = decl.default;
        }
    }
    for (const [key, value] of Object.entries(stackFile.config ?? {})) {
        const name = key.replace(`${project}:`, "");
        values[name] = asTheProgramReadsIt(value, declared[name]);
    }
    return { ...values, ...overrides };
}
