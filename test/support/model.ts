// A stack's config (Pulumi.yaml defaults and Pulumi.<stack>.yaml) as compileStack reads it, and its model:
// the dev stack's for the pure tests, any stack's for the benchmark.
import assert from "node:assert/strict";
import { compileStack } from "../../components/model/compile";
import { ConfigProblems, type StackSettings } from "../../components/model/settings";
import type { StackModel } from "../../components/model/stack-model";
import { readBaseConfig, readNamedFile } from "../../components/resources/stack-files";
import { stackConfig } from "../../scripts/stack-config";
import { projectRoot, stackName } from "./program";

/** A stack's settings, as the program hands them to compileStack, with `overrides` (config keys as in the stack file) on top. */
export function stackSettings(stack: string, overrides: Record<string, unknown> = {}): StackSettings {
    const config = stackConfig(stack, overrides) as Record<string, unknown> & StackSettings;
    return {
        ...config,
        namePrefix: (config.namePrefix as string | undefined) ?? "",
        kvSeed: readNamedFile(config.kvSeed as unknown as string, projectRoot),
        baseConfig: readBaseConfig(config.baseConfigDir as unknown as string, projectRoot),
    };
}

/** The dev stack's settings, with `overrides` on top. */
export const devSettings = (overrides: Record<string, unknown> = {}): StackSettings =>
    stackSettings(stackName, overrides);

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
