// The file `scripts/snapshot.sh save FILE` writes: a tar archive of one Consul snapshot per cluster of the
// stack (the first datacenter's, and each peering datacenter's, which keeps its own KV and ACLs) and a
// manifest naming the cluster of each. One file, as before, so it is copied and kept as one; a plain tar,
// so `tar -tvf FILE` shows what it holds. A file saved before (Consul's own snapshot, gzip) is still
// restored: it holds the first datacenter's cluster.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Cluster, StackError } from "./stack-access";

export const manifestName = "manifest.json";
const format = "consul-multi-dc snapshot";

export interface Manifest {
    readonly format: typeof format;
    readonly version: 1;
    readonly stack: string;
    readonly savedAt: string;
    /** Each cluster by its primary datacenter, with the datacenters that use its state then, and its snapshot's name in the archive. */
    readonly clusters: readonly {
        readonly primary: string;
        readonly datacenters: readonly string[];
        readonly file: string;
    }[];
}

/** A cluster's snapshot in the archive, named after its primary datacenter. */
export const snapshotFileOf = (primary: string): string => `${primary}.snap`;

export function manifestOf(stack: string, clusters: readonly Cluster[], savedAt: Date): Manifest {
    return {
        format,
        version: 1,
        stack,
        savedAt: savedAt.toISOString(),
        clusters: clusters.map((c) => ({
            primary: c.primary.name,
            datacenters: c.datacenters.map((d) => d.name),
            file: snapshotFileOf(c.primary.name),
        })),
    };
}

/** What a restore does with `held` (the clusters a file holds, by primary datacenter) on a stack of `clusters`. */
export interface RestorePlan {
    /** Each cluster of the stack the file holds, with its snapshot's name in the archive. */
    readonly restore: readonly { readonly cluster: Cluster; readonly file: string }[];
    /** The stack's clusters the file does not hold: they keep their state. */
    readonly untouched: readonly Cluster[];
}

/** Refuses, before anything changes, a file holding a cluster the stack does not have. */
export function restorePlan(file: string, held: Manifest["clusters"], clusters: readonly Cluster[]): RestorePlan {
    const unknown = held.filter((h) => !clusters.some((c) => c.primary.name === h.primary));
    if (unknown.length > 0) {
        throw new StackError(
            `${file} holds the state of ${unknown.map((h) => `${h.primary}'s cluster`).join(", ")}, which this stack does not have ` +
                `(its clusters: ${clusters.map((c) => c.primary.name).join(", ")}); restore it into the stack it was saved from`,
        );
    }
    return {
        restore: clusters.flatMap((cluster) =>
            held.filter((h) => h.primary === cluster.primary.name).map((h) => ({ cluster, file: h.file })),
        ),
        untouched: clusters.filter((c) => !held.some((h) => h.primary === c.primary.name)),
    };
}

/** Checks what a file's manifest says; the messages name the file. */
export function parseManifest(file: string, text: string): Manifest {
    let manifest: Partial<Manifest>;
    try {
        manifest = JSON.parse(text) as Partial<Manifest>;
    } catch (e) {
        throw new StackError(`${file}: its ${manifestName} is not JSON (${(e as Error).message})`);
    }
    if (manifest.format !== format || manifest.version !== 1 || !Array.isArray(manifest.clusters)) {
        throw new StackError(
            `${file} is not a snapshot this version of scripts/snapshot.sh wrote (its ${manifestName} says ${JSON.stringify(manifest.format)} version ${manifest.version})`,
        );
    }
    for (const c of manifest.clusters) {
        // Names only, never a path: the archive is unpacked by them.
        if (
            typeof c?.primary !== "string" ||
            !/^[A-Za-z0-9_-]+$/.test(c.primary) ||
            c.file !== snapshotFileOf(c.primary)
        ) {
            throw new StackError(`${file}: its ${manifestName} lists a cluster as ${JSON.stringify(c)}`);
        }
    }
    return manifest as Manifest;
}

const gzipMagic = Buffer.from([0x1f, 0x8b]);

/** Consul's own snapshot (a gzip'd tar): what this script saved before it saved every cluster. */
export function isSingleConsulSnapshot(file: string): boolean {
    const head = Buffer.alloc(2);
    const fd = fs.openSync(file, "r");
    try {
        fs.readSync(fd, head, 0, 2, 0);
    } finally {
        fs.closeSync(fd);
    }
    return head.equals(gzipMagic);
}

function tar(args: readonly string[], stdout: "pipe" | number = "pipe"): string {
    const result = spawnSync("tar", args, {
        stdio: ["ignore", stdout, "pipe"],
        encoding: "utf8",
        maxBuffer: 16 * 1024 * 1024,
    });
    if (result.status !== 0) {
        throw new StackError(
            `tar ${args.filter((a) => a.startsWith("-")).join(" ")} failed: ${(result.stderr || result.error?.message || "").trim()}`,
        );
    }
    return result.stdout ?? "";
}

/**
 * Writes `dir`'s manifest and snapshots into `file`, readable by its owner only from the moment it exists (it
 * holds ACL tokens): written beside it under another name, then renamed over it.
 */
export function writeArchive(file: string, dir: string, manifest: Manifest): void {
    fs.writeFileSync(path.join(dir, manifestName), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    const partial = `${file}.partial-${process.pid}`;
    const fd = fs.openSync(partial, "wx", 0o600);
    try {
        tar(["-C", dir, "-cf", "-", manifestName, ...manifest.clusters.map((c) => c.file)], fd);
    } catch (e) {
        fs.rmSync(partial, { force: true });
        throw e;
    } finally {
        fs.closeSync(fd);
    }
    fs.renameSync(partial, file);
}

/** Reads `file`'s manifest and unpacks the snapshots it lists, and nothing else, into `dir`. */
export function readArchive(file: string, dir: string): Manifest {
    const entries = tar(["-tf", file]).split("\n").filter(Boolean);
    if (!entries.includes(manifestName)) {
        throw new StackError(
            `${file} is neither a snapshot of this script (a tar with ${manifestName}) nor Consul's own snapshot`,
        );
    }
    tar(["-xf", file, "-C", dir, manifestName]);
    const manifest = parseManifest(file, fs.readFileSync(path.join(dir, manifestName), "utf8"));
    const missing = manifest.clusters.filter((c) => !entries.includes(c.file));
    if (missing.length > 0) {
        throw new StackError(`${file} lacks ${missing.map((c) => c.file).join(", ")}, which its ${manifestName} lists`);
    }
    tar(["-xf", file, "-C", dir, ...manifest.clusters.map((c) => c.file)]);
    return manifest;
}
