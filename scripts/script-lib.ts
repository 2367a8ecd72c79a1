// What the TypeScript scripts share, as scripts/lib.sh is for the shell ones: their messages, and waiting
// for a condition.

/** "NAME: [N ms] MESSAGE" lines: how long the script has run shows which step is slow. */
export function sayer(name: string): (message: string) => void {
    const began = Date.now();
    return (message) => console.log(`${name}: [${Date.now() - began} ms] ${message}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Asks `ready` every 200 ms until it says true; false if it has not within `seconds`. A throw counts as "not yet". */
export async function within(seconds: number, ready: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        if (await ready().catch(() => false)) {
            return true;
        }
        if (Date.now() >= deadline) {
            return false;
        }
        await sleep(200);
    }
}
