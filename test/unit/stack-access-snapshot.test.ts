// The file `scripts/snapshot.sh save` writes (scripts/snapshot-archive.ts): one Consul snapshot per cluster
// of the stack and a manifest, owner-only; what a restore does with each cluster it holds or lacks; and the
// files it refuses, before anything changes. Real files and the system's tar; no Docker.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { compileStack } from "../../components/model/compile";
import type { DatacenterSettings } from "../../components/model/settings";
import {
    isSingleConsulSnapshot,
    manifestName,
    manifestOf,
    parseManifest,
    readArchive,
    restorePlan,
    writeArchive,
} from "../../scripts/snapshot-archive";
import { clustersOf, StackError, stackSettings } from "../../scripts/stack-access";
import { devModel } from "../support/model";
import { stackConfig } from "../support/program";

const [dc1, dc2] = stackConfig().datacenters as DatacenterSettings[];
const peeringClusters = () =>
    clustersOf(
        compileStack(
            stackSettings(
                stackConfig({
                    datacenters: [
                        dc1,
                        dc2,
                        {
                            ...dc2,
                            name: "dc3",
                            federation: "peering",
                            subnet: "10.201.3.0/24",
                            httpPort: 8502,
                            dnsPort: 8602,
                        },
                    ],
                }),
            ),
        ),
    );
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "snapshot-archive-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A directory holding a stand-in snapshot for each cluster, as `docker cp` leaves them: each its own bytes. */
function savedSnapshots(primaries: readonly string[]): string {
    const dir = fs.mkdtempSync(path.join(scratch, "saved-"));
    primaries.forEach((dc) =>
        fs.writeFileSync(path.join(dir, `${dc}.snap`), `state of ${dc}'s cluster`, { mode: 0o600 }),
    );
    return dir;
}

describe("the archive: one file, owner-only, one snapshot per cluster", () => {
    test("a peering stack's archive holds dc1's and dc3's snapshots and a manifest naming each cluster; it reads back as written", () => {
        const clusters = peeringClusters();
        const file = path.join(scratch, "stack.snap");
        writeArchive(
            file,
            savedSnapshots(["dc1", "dc3"]),
            manifestOf("peering-tier", clusters, new Date("2026-01-02T03:04:05Z")),
        );
        assert.equal(fs.statSync(file).mode & 0o777, 0o600, "it holds ACL tokens: owner-only");
        assert.deepEqual(execFileSync("tar", ["-tf", file], { encoding: "utf8" }).trim().split("\n"), [
            manifestName,
            "dc1.snap",
            "dc3.snap",
        ]);
        assert.equal(isSingleConsulSnapshot(file), false);
        const out = fs.mkdtempSync(path.join(scratch, "read-"));
        const manifest = readArchive(file, out);
        assert.deepEqual(manifest.clusters, [
            { primary: "dc1", datacenters: ["dc1", "dc2"], file: "dc1.snap" },
            { primary: "dc3", datacenters: ["dc3"], file: "dc3.snap" },
        ]);
        assert.deepEqual([manifest.stack, manifest.savedAt], ["peering-tier", "2026-01-02T03:04:05.000Z"]);
        assert.equal(fs.readFileSync(path.join(out, "dc3.snap"), "utf8"), "state of dc3's cluster");
    });

    test("an existing file saved over keeps no wider mode, and a failed write leaves it as it was", () => {
        const file = path.join(scratch, "again.snap");
        fs.writeFileSync(file, "an older backup", { mode: 0o644 });
        const clusters = clustersOf(devModel());
        assert.throws(
            () => writeArchive(file, savedSnapshots([]), manifestOf("dev", clusters, new Date())),
            /tar .* failed/,
        );
        assert.equal(fs.readFileSync(file, "utf8"), "an older backup");
        assert.deepEqual(
            fs.readdirSync(scratch).filter((f) => f.includes(".partial-")),
            [],
            "no partial file left",
        );
        writeArchive(file, savedSnapshots(["dc1"]), manifestOf("dev", clusters, new Date()));
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    });

    test("Consul's own snapshot, as this script saved before, is told apart: gzip", () => {
        const old = path.join(scratch, "old.snap");
        fs.writeFileSync(old, gzipSync(Buffer.from("a consul snapshot's tar")));
        assert.equal(isSingleConsulSnapshot(old), true);
    });

    test("a file that is neither, an archive missing a snapshot its manifest lists, and a manifest naming a path are refused", () => {
        const other = path.join(scratch, "notes.txt");
        fs.writeFileSync(other, "not a snapshot");
        assert.throws(() => readArchive(other, scratch), /tar -tf failed|neither a snapshot of this script/);

        const dir = savedSnapshots(["dc1"]);
        const partial = path.join(scratch, "partial.snap");
        const manifest = manifestOf("peering-tier", peeringClusters(), new Date());
        fs.writeFileSync(path.join(dir, manifestName), JSON.stringify(manifest));
        execFileSync("tar", ["-C", dir, "-cf", partial, manifestName, "dc1.snap"]);
        assert.throws(
            () => readArchive(partial, fs.mkdtempSync(path.join(scratch, "read-"))),
            /partial\.snap lacks dc3\.snap, which its manifest\.json lists/,
        );

        const evil = { ...manifest, clusters: [{ primary: "../dc1", datacenters: ["dc1"], file: "../dc1.snap" }] };
        assert.throws(
            () => parseManifest("evil.snap", JSON.stringify(evil)),
            /evil\.snap: its manifest\.json lists a cluster as/,
        );
        assert.throws(
            () => parseManifest("other.snap", JSON.stringify({ format: "something else" })),
            /not a snapshot this version of scripts\/snapshot\.sh wrote/,
        );
    });
});

describe("what a restore does with each cluster of the stack", () => {
    const held = (...primaries: string[]) =>
        primaries.map((p) => ({ primary: p, datacenters: [p], file: `${p}.snap` }));
    const planned = (plan: ReturnType<typeof restorePlan>) => ({
        restore: plan.restore.map((r) => [r.cluster.primary.name, r.file]),
        untouched: plan.untouched.map((c) => c.primary.name),
    });

    test("every cluster the file holds is restored into the cluster of the same primary", () => {
        assert.deepEqual(planned(restorePlan("f", held("dc3", "dc1"), peeringClusters())), {
            restore: [
                ["dc1", "dc1.snap"],
                ["dc3", "dc3.snap"],
            ],
            untouched: [],
        });
    });

    test("a cluster the file does not hold keeps its state: an old single-cluster file restores dc1's alone", () => {
        assert.deepEqual(planned(restorePlan("f", held("dc1"), peeringClusters())), {
            restore: [["dc1", "dc1.snap"]],
            untouched: ["dc3"],
        });
    });

    test("a file holding a cluster the stack lacks is refused before anything changes, naming it and the stack's clusters", () => {
        assert.throws(
            () => restorePlan("peering.snap", held("dc1", "dc3"), clustersOf(devModel())),
            (e: Error) =>
                e instanceof StackError &&
                e.message ===
                    "peering.snap holds the state of dc3's cluster, which this stack does not have (its clusters: dc1); restore it into the stack it was saved from",
        );
    });
});
