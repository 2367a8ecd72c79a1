// The unit tier in one process: every test/unit/*.test.ts file, loaded in turn. A process per file would load
// tsx and @pulumi/pulumi once per file, about 1.5 s of CPU each, which doubled the tier's time. Each file
// still runs on its own too: node --import tsx --test test/unit/<file>.test.ts
import * as fs from "node:fs";
import * as path from "node:path";

const dir = path.join(__dirname, "unit");
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".test.ts")).sort()) {
    require(path.join(dir, file));
}
