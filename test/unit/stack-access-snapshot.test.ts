// The file `scripts/snapshot.sh save` writes (scripts/snapshot-archive.ts): one Consul snapshot per
// datacenter of the stack and a manifest, owner-only; what a restore does with each datacenter it holds or
// lacks, and in what order; and the files it refuses, before anything changes. Real files and the system's
// tar; no Docker.
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
import { meshlessConfig, meshlessDatacenters } from "../support/program";

// The dev stack without the mesh, which cannot take a peering datacenter (mesh.test.ts).
const [dc1, dc2] = meshlessDatacenters() as unknown as DatacenterSettings[];
const peeringClusters = () =>
    clustersOf(
        compileStack(
            stackSettings(
                meshlessConfig({
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

/** A directory holding a stand-in snapshot for each datacenter, as `docker cp` leaves them: each its own bytes. */
function savedSnapshots(datacenters: readonly string[]): string {
    const dir = fs.mkdtempSync(path.join(scratch, "saved-"));
    datacenters.forEach((dc) => fs.writeFileSync(path.join(dir, `${dc}.snap`), `state of ${dc}`, { mode: 0o600 }));
    return dir;
}

describe("the archive: one file, owner-only, one snapshot per datacenter", () => {
    test("a peering stack's archive holds dc1's, dc2's and dc3's snapshots and a manifest naming each one's cluster; it reads back as written", () => {
        const clusters = peeringClusters();
        const file = path.join(scratch, "stack.snap");
        writeArchive(
            file,
            savedSnapshots(["dc1", "dc2", "dc3"]),
            manifestOf("peering-tier", clusters, new Date("2026-01-02T03:04:05Z")),
        );
        assert.equal(fs.statSync(file).mode & 0o777, 0o600, "it holds ACL tokens: owner-only");
        assert.deepEqual(execFileSync("tar", ["-tf", file], { encoding: "utf8" }).trim().split("\n"), [
            manifestName,
            "dc1.snap",
            "dc2.snap",
            "dc3.snap",
        ]);
        assert.equal(isSingleConsulSnapshot(file), false);
        const out = fs.mkdtempSync(path.join(scratch, "read-"));
        const manifest = readArchive(file, out);
        assert.deepEqual(manifest.datacenters, [
            { name: "dc1", cluster: "dc1", file: "dc1.snap" },
            { name: "dc2", cluster: "dc1", file: "dc2.snap" },
            { name: "dc3", cluster: "dc3", file: "dc3.snap" },
        ]);
        assert.deepEqual([manifest.stack, manifest.savedAt], ["peering-tier", "2026-01-02T03:04:05.000Z"]);
        assert.equal(fs.readFileSync(path.join(out, "dc2.snap"), "utf8"), "state of dc2");
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
        writeArchive(file, savedSnapshots(["dc1", "dc2"]), manifestOf("dev", clusters, new Date()));
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

        const dir = savedSnapshots(["dc1", "dc2"]);
        const partial = path.join(scratch, "partial.snap");
        const manifest = manifestOf("peering-tier", peeringClusters(), new Date());
        fs.writeFileSync(path.join(dir, manifestName), JSON.stringify(manifest));
        execFileSync("tar", ["-C", dir, "-cf", partial, manifestName, "dc1.snap", "dc2.snap"]);
        assert.throws(
            () => readArchive(partial, fs.mkdtempSync(path.join(scratch, "read-"))),
            /partial\.snap lacks dc3\.snap, which its manifest\.json lists/,
        );

        for (const entry of [
            { name: "../dc1", cluster: "dc1", file: "../dc1.snap" },
            { name: "dc2", cluster: "../dc1", file: "dc2.snap" },
            { name: "dc2", cluster: "dc1", file: "../dc2.snap" },
        ]) {
            assert.throws(
                () => parseManifest("evil.snap", JSON.stringify({ ...manifest, datacenters: [entry] })),
                /evil\.snap: its manifest\.json lists a datacenter as/,
            );
        }
        assert.throws(
            () => parseManifest("older.snap", JSON.stringify({ ...manifest, version: 1 })),
            /older\.snap is not a snapshot this version of scripts\/snapshot\.sh wrote .* version 1/,
        );
        assert.throws(
            () => parseManifest("other.snap", JSON.stringify({ format: "something else" })),
            /not a snapshot this version of scripts\/snapshot\.sh wrote/,
        );
    });
});

describe("what a restore does with each datacenter of the stack", () => {
    const held = (...pairs: [string, string][]) =>
        pairs.map(([name, cluster]) => ({ name, cluster, file: `${name}.snap` }));
    const planned = (plan: ReturnType<typeof restorePlan>) => ({
        restore: plan.restore.map((r) => [r.cluster.primary.name, r.datacenter.name, r.file]),
        untouched: plan.untouched.map((d) => d.name),
    });

    test("every datacenter the file holds is restored, cluster by cluster, each cluster's first datacenter first", () => {
        assert.deepEqual(
            planned(restorePlan("f", held(["dc3", "dc3"], ["dc2", "dc1"], ["dc1", "dc1"]), peeringClusters())),
            {
                restore: [
                    ["dc1", "dc1", "dc1.snap"],
                    ["dc1", "dc2", "dc2.snap"],
                    ["dc3", "dc3", "dc3.snap"],
                ],
                untouched: [],
            },
        );
    });

    test("a datacenter the file does not hold keeps its state: an old single-snapshot file restores dc1's alone", () => {
        assert.deepEqual(planned(restorePlan("f", held(["dc1", "dc1"]), peeringClusters())), {
            restore: [["dc1", "dc1", "dc1.snap"]],
            untouched: ["dc2", "dc3"],
        });
    });

    test("a file holding a datacenter the stack lacks is refused before anything changes, naming it and the stack's datacenters", () => {
        assert.throws(
            () => restorePlan("peering.snap", held(["dc1", "dc1"], ["dc3", "dc3"]), clustersOf(devModel())),
            (e: Error) =>
                e instanceof StackError &&
                e.message ===
                    "peering.snap holds the state of dc3, which this stack does not have (its datacenters: dc1, dc2); restore it into the stack it was saved from",
        );
    });

    test("a file holding a datacenter of another cluster than the stack's (a WAN one since made a peering one) is refused", () => {
        assert.throws(
            () => restorePlan("wan.snap", held(["dc1", "dc1"], ["dc3", "dc1"]), peeringClusters()),
            (e: Error) =>
                e instanceof StackError &&
                e.message ===
                    "wan.snap holds dc3 as a datacenter of dc1's cluster, while this stack has dc3 in dc3's; a datacenter's ACLs are its cluster's, so restore it into a stack of the same shape",
        );
    });
});
