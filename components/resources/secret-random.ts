// Random secrets that stay secret in the state.
//
// The random provider stores some values as their resource ID, and the engine stores IDs in plain
// text: RandomBytes' ID is its base64, RandomUuid's ID is the UUID. A gossip key or token secret made
// from them leaks into the state file. A RandomPassword's ID is "none" and its result is a secret, so
// every secret of the stack is derived from one: 64 characters from 62 letters and digits hold about
// 381 bits, which SHA-256 folds into the 32 uniform bytes each secret below needs.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

const digest = (seed: string) => createHash("sha256").update(seed, "utf8").digest();

/** base64 of 32 bytes, as `consul keygen` makes: a gossip key. */
export function gossipKeyFromSeed(seed: string): string {
    return digest(seed).toString("base64");
}

/** A version 4 UUID (RFC 9562 layout) from the seed's first 16 digest bytes: a token secret ID. */
export function uuidFromSeed(seed: string): string {
    const b = digest(seed).subarray(0, 16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function seed(name: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new random.RandomPassword(name, { length: 64, special: false }, opts).result;
}

export function randomGossipKey(name: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return pulumi.secret(seed(name, opts).apply(gossipKeyFromSeed));
}

export function randomSecretUuid(name: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return pulumi.secret(seed(name, opts).apply(uuidFromSeed));
}
