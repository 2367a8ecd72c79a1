// The files a stack's config names, read for compileStack: the base config files, the KV seed and the
// Docker hosts' TLS certificates.
import * as fs from "node:fs";
import * as path from "node:path";
import { dockerCertFileNames } from "../model/docker-hosts";
import type { DatacenterSettings, NamedFile, StackSettings } from "../model/settings";
import { baseConfigFileNames } from "../model/stack-model";

/** The project's own commented base config, consul-config/ beside components/. */
export const defaultBaseConfigDir = path.join(__dirname, "..", "..", "consul-config");

const readIfThere = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined);

/** Paths are relative to `root`. */
export function readNamedFile(file: string, root: string): NamedFile {
    return { path: file, text: readIfThere(path.resolve(root, file)) };
}

export function readBaseConfig(dir: string, root: string): StackSettings["baseConfig"] {
    return {
        dir,
        files: Object.fromEntries(
            baseConfigFileNames.map((f) => [f, readIfThere(path.join(path.resolve(root, dir), f))]),
        ),
    };
}

/**
 * Which of ca.pem, cert.pem and key.pem each datacenter's dockerCertPath holds (relative to the working directory, as
 * the provider reads it).
 */
export function readDockerCertFiles(
    datacenters: readonly DatacenterSettings[],
): NonNullable<StackSettings["dockerCertFiles"]> {
    const dirs = [
        ...new Set(datacenters.flatMap((dc) => (typeof dc.dockerCertPath === "string" ? [dc.dockerCertPath] : []))),
    ];
    return Object.fromEntries(
        dirs.map((dir) => [dir, dockerCertFileNames.filter((f) => fs.existsSync(path.resolve(dir, f)))]),
    );
}
