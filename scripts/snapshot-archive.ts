// The file `scripts/snapshot.sh save` writes: a tar archive of one Consul snapshot per datacenter of the
// stack (each datacenter keeps its own Raft state: its catalog, its own KV, and the ACLs it holds or
// replicates) and a manifest naming each datacenter's snapshot and the cluster whose ACLs it uses. One file,
// so it is copied and kept as one; a plain tar, so `tar -tvf FILE` shows what it holds. A file saved before
// (Consul's own snapshot, gzip) is still restored: it holds the first datacenter's state.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { DatacenterModel } from "../components/model/stack-model";
import { type Cluster, StackError } from "./stack-access";

export const manifestName = "manifest.json";
const format = "consul-multi-dc snapshot";
const version = 2;

/** A datacenter's snapshot in the archive: its name, the first datacenter of its cluster then, its file. */
export interface HeldState {
    readonly name: string;
    readonly cluster: string;
    readonly file: string;
}

export interface Manifest {
    readonly format: typeof format;
    readonly version: typeof version;
    readonly stack: string;
    readonly savedAt: string;
    /** Cluster by cluster, each one's first datacenter first: the order a restore goes in. */
    readonly datacenters: readonly HeldState[];
}

/** A datacenter's snapshot in the archive, named after it. */
export const snapshotFileOf = (datacenter: string): string => `${datacenter}.snap`;

export function manifestOf(stack: string, clusters: readonly Cluster[], savedAt: Date): Manifest {
    const datacenters = clusters.flatMap((c) =>
        c.datacenters.map((dc) => ({ name: dc.name, cluster: c.primary.name, file: snapshotFileOf(dc.name) })),
    );
    return { format, version, stack, savedAt: savedAt.toISOString(), datacenters };
}

/** One datacenter a restore puts back, with its cluster as the stack has it now. */
export interface RestoreStep {
    readonly cluster: Cluster;
    readonly datacenter: DatacenterModel;
    readonly file: string;
}

/** What a restore does with `held` (the datacenters a file holds) on a stack of `clusters`. */
export interface RestorePlan {
    /** Cluster by cluster, its first datacenter first: its tokens are what the others replicate. */
    readonly restore: readonly RestoreStep[];
    /** The stack's datacenters the file does not hold: they keep their state. */
    readonly untouched: readonly DatacenterModel[];
}

/**
 * Refuses, before anything changes, a file holding a datacenter the stack does not have, or one that was in
 * another cluster when saved (a WAN datacenter since made a peering one, say): its ACLs are another cluster's.
 */
export function restorePlan(file: string, held: readonly HeldState[], clusters: readonly Cluster[]): RestorePlan {
    const clusterOf = (dc: string) => clusters.find((c) => c.datacenters.some((d) => d.name === dc));
    const unknown = held.filter((h) => clusterOf(h.name) === undefined);
    if (unknown.length > 0) {
        throw new StackError(
            `${file} holds the state of ${unknown.map((h) => h.name).join(", ")}, which this stack does not have ` +
                `(its datacenters: ${clusters.flatMap((c) => c.datacenters.map((d) => d.name)).join(", ")}); ` +
                "restore it into the stack it was saved from",
        );
    }
    const moved = held.filter((h) => clusterOf(h.name)?.primary.name !== h.cluster);
    if (moved.length > 0) {
        throw new StackError(
            `${file} holds ${moved.map((h) => `${h.name} as a datacenter of ${h.cluster}'s cluster`).join(", ")}, ` +
                `while this stack has ${moved.map((h) => `${h.name} in ${clusterOf(h.name)?.primary.name}'s`).join(", ")}; ` +
                "a datacenter's ACLs are its cluster's, so restore it into a stack of the same shape",
        );
    }
    return {
        restore: clusters.flatMap((cluster) =>
            cluster.datacenters.flatMap((datacenter) =>
                held.filter((h) => h.name === datacenter.name).map((h) => ({ cluster, datacenter, file: h.file })),
            ),
        ),
        untouched: clusters.flatMap((c) => c.datacenters).filter((d) => !held.some((h) => h.name === d.name)),
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
    if (manifest.format !== format || manifest.version !== version || !Array.isArray(manifest.datacenters)) {
        throw new StackError(
            `${file} is not a snapshot this version of scripts/snapshot.sh wrote (its ${manifestName} says ${JSON.stringify(manifest.format)} version ${manifest.version})`,
        );
    }
    const name = /^[A-Za-z0-9_-]+$/;
    for (const d of manifest.datacenters) {
        // Names only, never a path: the archive is unpacked by them.
        if (
            typeof d?.name !== "string" ||
            !name.test(d.name) ||
            typeof d.cluster !== "string" ||
            !name.test(d.cluster) ||
            d.file !== snapshotFileOf(d.name)
        ) {
            throw new StackError(`${file}: its ${manifestName} lists a datacenter as ${JSON.stringify(d)}`);
        }
    }
    return manifest as Manifest;
}

const gzipMagic = Buffer.from([0x1f, 0x8b]);

/** Consul's own snapshot (a gzip'd tar): what this script saved before it saved every datacenter. */
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
        tar(["-C", dir, "-cf", "-", manifestName, ...manifest.datacenters.map((d) => d.file)], fd);
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
    const missing = manifest.datacenters.filter((d) => !entries.includes(d.file));
    if (missing.length > 0) {
        throw new StackError(`${file} lacks ${missing.map((d) => d.file).join(", ")}, which its ${manifestName} lists`);
    }
    tar(["-xf", file, "-C", dir, ...manifest.datacenters.map((d) => d.file)]);
    return manifest;
}
