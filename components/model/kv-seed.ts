// The KV seed: keys the stack writes once the primary datacenter is up, from a JSON file of key → value.
// Pure: the caller reads the file; this checks it and says what is wrong with the config key named.

const keyPattern = /^[A-Za-z0-9_.\-]+(\/[A-Za-z0-9_.\-]+)*\/?$/;

/** The seed's [key, value] pairs in file order; throws with every problem, naming `configKey` and `file`. */
export function parseKvSeed(text: string, configKey: string, file: string): [string, string][] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        throw new Error(`${configKey}: ${file} is not JSON (${(e as Error).message})`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new Error(`${configKey}: ${file} must hold one JSON object of "key": "value" pairs`);
    }
    const problems: string[] = [];
    for (const [key, value] of Object.entries(parsed)) {
        if (!keyPattern.test(key)) {
            problems.push(`key ${JSON.stringify(key)} must be path segments of letters, digits, "_", "." and "-" separated by "/"`);
        }
        if (typeof value !== "string") {
            problems.push(`${key} must be a string (KV holds bytes; write numbers and booleans as text), not ${JSON.stringify(value)}`);
        }
    }
    if (problems.length > 0) {
        throw new Error(`${configKey}: ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    return Object.entries(parsed as Record<string, string>);
}
