// An agent's files as one sh script: run for real, it writes each file with exactly its content, readable by
// its owner only; and every agent container of the dev stack uploads that one script and nothing else.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { fileBundlePath, fileBundleScript } from "../../components/render/file-bundle";
import { agents, bundledFiles } from "../support/declared";
import { devStackRun } from "../support/fake-state";
import { unwrapSecret } from "../support/program";

test("sh writes every file byte for byte, quotes, dollars, backslashes and a missing last newline included, mode 0600", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const files = [
        { file: `${dir}/config/a.json`, content: '{\n  "k": "it\'s $HOME `x` \\n"\n}\n' },
        { file: `${dir}/tls/key.pem`, content: "-----BEGIN KEY-----\nabc'''\n-----END KEY-----" },
        { file: `${dir}/config/empty`, content: "" },
    ];
    const script = fileBundleScript(files);
    execFileSync("sh", ["-c", script]);
    for (const f of files) {
        assert.equal(fs.readFileSync(f.file, "utf8"), f.content, f.file);
        assert.equal(fs.statSync(f.file).mode & 0o777, 0o600, `${f.file} is its owner's only`);
    }
    assert.deepEqual(bundledFiles(script), files, "the tier's reader gives back the same files");
});

test("each agent container uploads its files as the one bundle, a secret", async () => {
    const run = await devStackRun();
    for (const c of agents(run)) {
        const raw = unwrapSecret(c.inputs.uploads);
        assert.ok(raw.secret, `${c.inputs.name}: the uploads are secret`);
        assert.deepEqual(
            (raw.value as { file: string }[]).map((u) => u.file),
            [fileBundlePath],
            `${c.inputs.name} uploads one file`,
        );
        assert.ok(
            bundledFiles(unwrapSecret((raw.value as { content: unknown }[])[0].content).value as string).length >= 8,
            `${c.inputs.name}'s bundle holds its files`,
        );
    }
});
