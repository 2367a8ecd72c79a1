// What the config parsers share: how a bad value is shown in a message, and the checks that narrow a
// value the user wrote (typed `unknown` until then) to the type the model needs.
import { isIPv4 } from "node:net";

/** A config value as a message quotes it: JSON, so strings show their quotes. */
export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** A check that narrows a config value to T. */
export type Guard<T> = (value: unknown) => value is T;

/** The one whole-number check: counts, ports, intervals. */
export const wholeNumberIn =
    (min: number, max: number): Guard<number> =>
    (value: unknown): value is number =>
        typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;

/** A string that matches `pattern`. */
export const matching =
    (pattern: RegExp): Guard<string> =>
    (value: unknown): value is string =>
        typeof value === "string" && pattern.test(value);

/** `value` when `ok` takes it; else undefined, with `problem` among `problems`. */
export function parseWith<T>(value: unknown, ok: Guard<T>, problem: string, problems: string[]): T | undefined {
    if (ok(value)) {
        return value;
    }
    problems.push(problem);
    return undefined;
}

/** A YAML mapping or a JS object: an entry whose keys are looked up by name. */
export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The one IPv4 check: dotted quads as node reads them, no leading zeros. */
export const isBoolean = (value: unknown): value is boolean => typeof value === "boolean";

export const isIpv4Address = (value: unknown): value is string => typeof value === "string" && isIPv4(value);

export function isStringList(value: unknown): value is readonly string[] {
    return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/** The keys of `entry` that are not among `allowed`, each as a problem naming the key and the allowed ones. */
export function unknownKeyProblems(
    entry: Readonly<Record<string, unknown>>,
    allowed: readonly string[],
    key: string,
    what: string,
): string[] {
    return Object.keys(entry)
        .filter((k) => !allowed.includes(k))
        .map((k) => `${key}.${k} is not a key of ${what}; allowed: ${allowed.join(", ")}`);
}
