// `npm run test:cluster`: the cluster tier's files, one at a time, in this order. `node --test` sorts the
// files it is given, which put the main file before the `npm start` tests; here the main file runs last,
// so that with KEEP_CLUSTER=1 the cluster it keeps is the last one standing, after every test that needs
// the dev stack's names and ports (127.0.0.1:8500). A cluster an earlier KEEP_CLUSTER=1 run kept goes
// first, for the same reason. `npm run test:cluster -- FILE...` runs those files alone.
import * as path from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { stackConfig } from "../support/program";
import { tearDown } from "../support/teardown";
import { checkPrerequisites } from "./prerequisites";

const tier = ["start.test.ts", "across-hosts.test.ts", "peering.test.ts", "cluster.test.ts"];

async function main(): Promise<void> {
    const files = process.argv.length > 2 ? process.argv.slice(2) : tier.map((f) => path.join(__dirname, f));
    // A missing prerequisite stops the tier here, naming the script that provides it.
    const pulumi = await checkPrerequisites(stackConfig().image as string);
    const left = await tearDown(pulumi);
    if (left.length > 0) {
        throw new Error(`a cluster kept by an earlier run could not be removed: ${left.join(", ")}`);
    }
    const stream = run({ files, concurrency: 1 });
    stream.on("test:fail", () => {
        process.exitCode = 1;
    });
    stream.compose(new spec()).pipe(process.stdout);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
