// The configuration reference (docs/configuration.md) against the config schema: each level's table documents
// exactly the keys components/model/config-keys.ts lists, and Pulumi.yaml declares exactly the stack's keys;
// and docs/outputs.md lists exactly the program's stack outputs.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import {
    datacenterConfigKeys,
    intentionConfigKeys,
    serviceCheckConfigKeys,
    serviceConfigKeys,
    stackConfigKeys,
} from "../../components/model/config-keys";
import { fakeState } from "../support/fake-state";
import { runProgram, stackConfig } from "../support/program";

const root = path.join(__dirname, "..", "..");
const reference = "docs/configuration.md";

/** The reference's key tables: by `## ` heading, each row whose first cell is a key in backticks, with its cells. */
function keyTables(markdown: string): Map<string, { key: string; cells: string[] }[]> {
    const tables = new Map<string, { key: string; cells: string[] }[]>();
    let rows: { key: string; cells: string[] }[] | undefined;
    for (const line of markdown.split("\n")) {
        const heading = /^## (.+?)\s*$/.exec(line);
        if (heading) {
            rows = [];
            tables.set(heading[1], rows);
            continue;
        }
        const row = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
        if (row && rows) {
            rows.push({ key: row[1], cells: row[2].split("|").map((c) => c.trim()) });
        }
    }
    return tables;
}

const tables = keyTables(fs.readFileSync(path.join(root, reference), "utf8"));
const levels: [string, readonly string[]][] = [
    ["Stack keys", stackConfigKeys],
    ["Datacenter keys", datacenterConfigKeys],
    ["Service keys", serviceConfigKeys],
    ["Intention keys", intentionConfigKeys],
    ["Check keys", serviceCheckConfigKeys],
];

for (const [heading, keys] of levels) {
    test(`${reference} "${heading}" documents every key of that level, once, and no other`, () => {
        const rows = tables.get(heading);
        assert.ok(rows, `${reference} has no "## ${heading}" section`);
        const documented = rows.map((r) => r.key);
        assert.deepEqual(
            {
                leftOut: keys.filter((k) => !documented.includes(k)),
                notInTheConfig: documented.filter((k) => !keys.includes(k)),
                documentedTwice: documented.filter((k, i) => documented.indexOf(k) !== i),
            },
            { leftOut: [], notInTheConfig: [], documentedTwice: [] },
            `${reference} "${heading}" and components/model/config-keys.ts disagree`,
        );
    });
}

const pulumiYaml = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    config: Record<string, { default?: unknown }>;
};

test("Pulumi.yaml declares every stack key but gossipKey, and no other", () => {
    const declared = Object.keys(pulumiYaml.config);
    // A declared key without a default is required, and a secret cannot have a default (Pulumi.yaml says so).
    const declarable = stackConfigKeys.filter((k) => k !== "gossipKey");
    assert.deepEqual([...declared].sort(), [...declarable].sort());
});

test(`${reference} gives each stack key the default Pulumi.yaml declares`, () => {
    const documented = new Map(tables.get("Stack keys")?.map((r) => [r.key, r.cells[1]]));
    for (const [key, { default: value }] of Object.entries(pulumiYaml.config)) {
        if (typeof value === "object") {
            continue; // datacenters: the table summarises the list in words
        }
        const expected = `\`${value === "" ? '""' : String(value)}\``;
        assert.equal(documented.get(key), expected, `${reference}: the default of ${key}`);
    }
});

test("docs/outputs.md lists every stack output of the dev stack, once, and no other", async () => {
    const run = await runProgram({ computeState: fakeState, config: stackConfig() });
    const outputsDoc = fs.readFileSync(path.join(root, "docs/outputs.md"), "utf8");
    const documented = [...outputsDoc.matchAll(/^\|\s*`([A-Za-z]+)`\s*\|/gm)].map((m) => m[1]);
    assert.deepEqual(
        {
            leftOut: Object.keys(run.outputs).filter((k) => !documented.includes(k)),
            notAnOutput: documented.filter((k) => !(k in run.outputs)),
            documentedTwice: documented.filter((k, i) => documented.indexOf(k) !== i),
        },
        { leftOut: [], notAnOutput: [], documentedTwice: [] },
    );
});
