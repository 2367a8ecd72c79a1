// The KV seed file: string values under path-like keys, or a message naming the config key and file.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseKvSeed } from "../../components/model/kv-seed";

test("parses key/value strings in file order", () => {
    assert.deepEqual(parseKvSeed('{"a/b": "1", "a/c": "x y"}', "kvSeed", "f.json"), [["a/b", "1"], ["a/c", "x y"]]);
});

test("refuses what is not a JSON object of strings, naming kvSeed and the file", () => {
    assert.throws(() => parseKvSeed("{", "kvSeed", "f.json"), /^Error: kvSeed: f\.json is not JSON/);
    assert.throws(() => parseKvSeed("[]", "kvSeed", "f.json"), /kvSeed: f\.json must hold one JSON object of "key": "value" pairs/);
    assert.throws(() => parseKvSeed('{"/abs": "1", "n": 2}', "kvSeed", "f.json"), (e: Error) => {
        assert.match(e.message, /key "\/abs" must be path segments/);
        assert.match(e.message, /n must be a string \(KV holds bytes; write numbers and booleans as text\), not 2/);
        return true;
    });
});
