// The KV seed file: string values under path-like keys, or a problem naming the config key and file.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseKvSeed } from "../../components/model/kv-seed";

/** The pairs, or the problems, of parsing `text`. */
const parse = (text: string) => {
    const problems: string[] = [];
    return { pairs: parseKvSeed(text, "kvSeed", "f.json", problems), problems };
};

test("parses key/value strings in file order", () => {
    assert.deepEqual(parse('{"a/b": "1", "a/c": "x y"}'), {
        pairs: [
            ["a/b", "1"],
            ["a/c", "x y"],
        ],
        problems: [],
    });
});

test("refuses what is not a JSON object of strings, naming kvSeed and the file, in one problem", () => {
    assert.match(parse("{").problems.join(), /^kvSeed: f\.json is not JSON/);
    assert.deepEqual(parse("[]"), {
        pairs: undefined,
        problems: ['kvSeed: f.json must hold one JSON object of "key": "value" pairs'],
    });
    const { pairs, problems } = parse('{"/abs": "1", "n": 2}');
    assert.equal(pairs, undefined);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^kvSeed: f\.json:\n {2}- key "\/abs" must be path segments/);
    assert.match(
        problems[0],
        /\n {2}- n must be a string \(KV holds bytes; write numbers and booleans as text\), not 2$/,
    );
});
