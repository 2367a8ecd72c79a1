// The files a stack's config names, read for compileStack: the base config files and the KV seed.
import * as fs from "node:fs";
import * as path from "node:path";
import { NamedFile, StackSettings } from "../model/settings";
import { baseConfigFileNames } from "../model/stack-model";

/** The project's own commented base config, consul-config/ beside components/. */
export const defaultBaseConfigDir = path.join(__dirname, "..", "..", "consul-config");

const readIfThere = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined);

/** Paths are relative to `root`. */
export function readNamedFile(file: string, root: string): NamedFile {
    return { path: file, text: readIfThere(path.resolve(root, file)) };
}

export function readBaseConfig(dir: string, root: string): StackSettings["baseConfig"] {
    return { dir, files: Object.fromEntries(baseConfigFileNames.map((f) => [f, readIfThere(path.join(path.resolve(root, dir), f))])) };
}
