// The KV seed: keys the stack writes once the primary datacenter is up, from a JSON file of key → value.
// Pure: the caller reads the file; this parses it and says what is wrong with the config key named.
import { isRecord } from "./describe";

const keyPattern = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/;

/** The seed's [key, value] pairs in file order; else undefined, with one problem naming `configKey` and `file`. */
export function parseKvSeed(
    text: string,
    configKey: string,
    file: string,
    problems: string[],
): [string, string][] | undefined {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        problems.push(`${configKey}: ${file} is not JSON (${e instanceof Error ? e.message : String(e)})`);
        return undefined;
    }
    if (!isRecord(parsed)) {
        problems.push(`${configKey}: ${file} must hold one JSON object of "key": "value" pairs`);
        return undefined;
    }
    const found: string[] = [];
    const pairs = Object.entries(parsed).flatMap(([key, value]): [string, string][] => {
        if (!keyPattern.test(key)) {
            found.push(
                `key ${JSON.stringify(key)} must be path segments of letters, digits, "_", "." and "-" ` +
                    'separated by "/"',
            );
        }
        if (typeof value !== "string") {
            found.push(
                `${key} must be a string (KV holds bytes; write numbers and booleans as text), ` +
                    `not ${JSON.stringify(value)}`,
            );
            return [];
        }
        return [[key, value]];
    });
    if (found.length > 0) {
        problems.push(`${configKey}: ${file}:\n${found.map((p) => `  - ${p}`).join("\n")}`);
        return undefined;
    }
    return pairs;
}
