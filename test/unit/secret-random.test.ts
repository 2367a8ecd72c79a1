// Secrets derived from a RandomPassword seed: a gossip key and token secret IDs in the shapes Consul takes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gossipKeyFromSeed, uuidFromSeed } from "../../components/secret-random";

const seedA = "a".repeat(64);
const seedB = "b".repeat(64);

test("a gossip key is canonical base64 of exactly 32 bytes, the same for a seed and different for another", () => {
    const key = gossipKeyFromSeed(seedA);
    assert.equal(Buffer.from(key, "base64").length, 32);
    assert.equal(Buffer.from(key, "base64").toString("base64"), key);
    assert.equal(gossipKeyFromSeed(seedA), key);
    assert.notEqual(gossipKeyFromSeed(seedB), key);
});

test("a token secret is a version 4, RFC variant UUID, the same for a seed and different for another", () => {
    const uuid = uuidFromSeed(seedA);
    assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(uuidFromSeed(seedA), uuid);
    assert.notEqual(uuidFromSeed(seedB), uuid);
    assert.notEqual(uuid.replace(/-/g, ""), gossipKeyFromSeed(seedA), "the two derivations differ in form");
});
