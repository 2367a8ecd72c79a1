// A stack with more waiting containers than the engine's --parallel is refused at preview, since
// `pulumi up` could hang on it; the program reads --parallel as the nodejs language host passes it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { engineParallel, parallelProblem } from "../../components/resources/engine-parallel";
import { fakeState } from "../support/fake-state";
import { runProgram } from "../support/program";

test("the engine's --parallel comes from PULUMI_NODEJS_PARALLEL; anything else is unknown", () => {
    assert.equal(engineParallel({ PULUMI_NODEJS_PARALLEL: "8" }), 8);
    for (const unknown of [undefined, "", "0", "-1", "many"]) {
        assert.equal(engineParallel({ PULUMI_NODEJS_PARALLEL: unknown }), undefined, String(unknown));
    }
});

test("as many waiting containers as --parallel start; one more is refused, saying the --parallel that works", () => {
    assert.equal(parallelProblem(8, 8), undefined);
    assert.equal(parallelProblem(10, undefined), undefined, "unknown: nothing to say");
    assert.match(parallelProblem(10, 8) as string, /starts 10 containers .* runs only 8 operations at once .* Run `pulumi up --parallel 10` \(or more\)/);
});

test("the program counts the dev stack's 7 waiting containers, and refuses them at --parallel 4, as on one CPU", async () => {
    const before = process.env.PULUMI_NODEJS_PARALLEL;
    try {
        process.env.PULUMI_NODEJS_PARALLEL = "4";
        await assert.rejects(runProgram({ computeState: fakeState, preview: true }), /this stack starts 7 containers .* only 4 operations at once/);
    } finally {
        if (before === undefined) delete process.env.PULUMI_NODEJS_PARALLEL;
        else process.env.PULUMI_NODEJS_PARALLEL = before;
    }
});
