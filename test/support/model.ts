// The dev stack's config (Pulumi.yaml defaults and Pulumi.dev.yaml) as compileStack reads it, and its model,
// for the pure tests.
import assert from "node:assert/strict";
import { compileStack } from "../../components/model/compile";
import { ConfigProblems, StackSettings } from "../../components/model/settings";
import { StackModel } from "../../components/model/stack-model";
import { readBaseConfig, readNamedFile } from "../../components/resources/stack-files";
import { projectRoot, stackConfig } from "./program";

/** The dev stack's settings, with `overrides` (config keys as in the stack file) on top. */
export function devSettings(overrides: Record<string, unknown> = {}): StackSettings {
    const config = stackConfig(overrides) as Record<string, unknown> & StackSettings;
    return {
        ...config,
        namePrefix: (config.namePrefix as string | undefined) ?? "",
        kvSeed: readNamedFile(config.kvSeed as unknown as string, projectRoot),
        baseConfig: readBaseConfig(config.baseConfigDir as unknown as string, projectRoot),
    };
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
