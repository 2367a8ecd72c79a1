// The unit tier's shards: every test/unit/*.test.ts file, loaded in turn into one of two processes that
// node's test runner runs side by side (package.json's test:unit). A process per file would load tsx and
// @pulumi/pulumi once per file, about 1.5 s of CPU each; one process for all left one of two cores idle.
// Files are dealt out by their weight (how many times they run the program under mocks, which is most of
// the tier's time), heaviest first, each to the lighter shard. Each file still runs on its own too:
// node --import tsx --test test/unit/<file>.test.ts
import * as fs from "node:fs";
import * as path from "node:path";

export const shards = 2;

/** Loads the test files of shard `index` (0-based). */
export function loadShard(index: number): void {
    // Pulumi records a stack trace for each of its many promises; mapping each through tsx's source maps cost
    // about a tenth of the tier, and the test runner's failure locations do not use them.
    process.setSourceMapsEnabled(false);
    const dir = path.join(__dirname, "unit");
    const weighed = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".test.ts"))
        .sort()
        .map((file) => ({
            file,
            weight:
                1 +
                4 * (fs.readFileSync(path.join(dir, file), "utf8").match(/\b(runProgram|devStackRun)\(/g)?.length ?? 0),
        }))
        .sort((a, b) => b.weight - a.weight);
    const load = Array.from({ length: shards }, () => ({ weight: 0, files: [] as string[] }));
    for (const { file, weight } of weighed) {
        const lightest = load.reduce((a, b) => (b.weight < a.weight ? b : a));
        lightest.weight += weight;
        lightest.files.push(file);
    }
    load[index].files.sort().forEach((file) => require(path.join(dir, file)));
}
