// What the config checks share: how a bad value is shown in a message, and the whole-number check.

/** A config value as a message quotes it: JSON, so strings show their quotes. */
export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

export function isWholeNumberIn(value: unknown, min: number, max: number): value is number {
    return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}
