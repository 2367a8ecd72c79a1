// Durations as Go prints them: what the Docker provider reads back from a container's healthcheck.
import assert from "node:assert/strict";
import { test } from "node:test";
import { goDuration, shellHealthcheck } from "../../components/render/healthcheck";

test("goDuration prints seconds as Go's time.Duration.String() does", () => {
    const cases: [number, string][] = [
        [0, "0s"],
        [0.25, "250ms"],
        [1, "1s"],
        [2, "2s"],
        [59, "59s"],
        [60, "1m0s"],
        [90.5, "1m30.5s"],
        [120, "2m0s"],
        [3600, "1h0m0s"],
        [3661, "1h1m1s"],
    ];
    assert.deepEqual(
        cases.map(([s]) => goDuration(s)),
        cases.map(([, d]) => d),
    );
});

test("goDuration refuses what is not a duration", () => {
    assert.throws(() => goDuration(-1), /non-negative number of seconds, not -1/);
    assert.throws(() => goDuration(Number.NaN), /not NaN/);
});

test("shellHealthcheck writes every timing in Go's spelling", () => {
    assert.deepEqual(shellHealthcheck("true", { interval: 2, timeout: 2, startPeriod: 60, retries: 5 }), {
        tests: ["CMD-SHELL", "true"],
        interval: "2s",
        timeout: "2s",
        startPeriod: "1m0s",
        retries: 5,
    });
});
