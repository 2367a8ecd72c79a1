// Secrets derived from a RandomPassword seed: a gossip key and token secret IDs in the shapes Consul takes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gossipKeyFromSeed, uuidFromSeed } from "../../components/resources/secret-random";

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
    // Like with like: the UUID's 16 bytes against the first 16 of the gossip key from the same seed. Both
    // are that seed's SHA-256, so today they differ only in the UUID's version and variant bits; the
    // stack keeps them apart by giving every secret its own seed.
    const uuidBytes = Buffer.from(uuid.replace(/-/g, ""), "hex");
    assert.notDeepEqual(
        uuidBytes,
        Buffer.from(gossipKeyFromSeed(seedA), "base64").subarray(0, 16),
        "a token secret is not the gossip key's bytes",
    );
});
