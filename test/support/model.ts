// The dev stack's config (Pulumi.yaml defaults and Pulumi.dev.yaml) as compileStack reads it, and its model,
// for the pure tests.
import assert from "node:assert/strict";
import { compileStack } from "../../components/model/compile";
import { ConfigProblems, StackSettings } from "../../components/model/settings";
import { StackModel } from "../../components/model/stack-model";
import { stackSettings } from "../../scripts/stack-access";
import { stackConfig } from "./program";

/** The dev stack's settings, with `overrides` (config keys as in the stack file) on top. */
export function devSettings(overrides: Record<string, unknown> = {}): StackSettings {
    return stackSettings(stackConfig(overrides));
}

export function devModel(overrides: Record<string, unknown> = {}): StackModel {
    return compileStack(devSettings(overrides));
}

/** Every problem compileStack finds in `settings`; fails when it accepts them. */
export function problemsOf(settings: StackSettings): string[] {
    try {
        compileStack(settings);
    } catch (e) {
        assert.ok(e instanceof ConfigProblems, String(e));
        return [...e.problems];
    }
    assert.fail("compileStack accepted the config");
}
