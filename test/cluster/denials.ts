// Refusals through every server. Each server's own HTTPS API is asked, from inside its container with
// Consul's CLI (a Go consul/api client, as an application would use), questions its token does not allow,
// many times over: a server that is not the leader forwards each one to the leader, so a refusal travels
// between servers (and, for the snapshot, over a connection of its own). Every answer must be 403.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Stack } from "@pulumi/pulumi/automation";
import { docker } from "../support/docker";

/** Times each question is asked through each server: enough for a race on a forwarded connection to show. */
export const rounds = 25;

/** A question the token does not allow; `token` says whose token asks. */
interface Question {
    readonly name: string;
    readonly args: readonly string[];
    readonly token: "app" | "anonymous";
}

const questions: readonly Question[] = [
    { name: "snapshot save with the app token", args: ["snapshot", "save", "/tmp/denied.snap"], token: "app" },
    { name: "anonymous KV write", args: ["kv", "put", "denials/probe", "x"], token: "anonymous" },
    { name: "ACL token list with the app token", args: ["acl", "token", "list"], token: "app" },
];

/**
 * Runs the command `rounds` times in one `sh` and prints, for each run, its exit status and all it printed
 * on one line. The CLI talks to the server's own HTTPS API (its certificate names 127.0.0.1).
 */
const loop = 'i=0; while [ "$i" -lt "$0" ]; do i=$((i+1)); out=$("$@" 2>&1); echo "$? $out" | tr "\\n" " "; echo; done';

/** One answer as the CLI reports it: the HTTP status (0 when the command succeeded or got none) and the text. */
export interface Answer {
    readonly status: number;
    readonly text: string;
}

export function parseAnswer(line: string): Answer {
    const [, exit, text] = /^(\d+) (.*)$/.exec(line.trim()) ?? ["", "", line.trim()];
    const http = /Unexpected response code: (\d{3})/.exec(text);
    return { status: http ? Number(http[1]) : exit === "0" ? 200 : 0, text };
}

/** Asks `question` `rounds` times through the server `container`'s own API, on the engine `engine` (docker's -H flags). */
export async function askInside(engine: readonly string[], container: string, question: Question, appToken: string): Promise<Answer[]> {
    const env: Record<string, string> = { CONSUL_HTTP_ADDR: "https://127.0.0.1:8501", CONSUL_CACERT: "/consul/tls/ca.pem" };
    if (question.token === "app") {
        // Named on docker's command line, its value passed through docker's environment: never in argv.
        env.CONSUL_HTTP_TOKEN = appToken;
    }
    const envArgs = Object.keys(env).flatMap((k) => ["--env", k]);
    const result = await docker([...engine, "exec", ...envArgs, container, "sh", "-c", loop, String(rounds), "consul", ...question.args], 300_000, undefined, env);
    assert.equal(result.code, 0, `the loop in ${container} failed: ${result.stderr}`);
    return result.stdout.split("\n").filter((l) => l.trim() !== "").map(parseAnswer);
}

/** How often each distinct answer came, e.g. {"403": 25} or {"403": 24, "500 failed to decode response: …": 1}. */
export function tally(answers: readonly Answer[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const a of answers) {
        // A 403's text names the token's accessor, which differs per token: the status alone says it all.
        const key = a.status === 403 ? "403" : `${a.status} ${a.text}`;
        counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
}

/**
 * The tests: every server of every datacenter, each question `rounds` times, every answer 403.
 * `engineOf` gives docker's -H flags for a datacenter's engine (empty for this machine's).
 */
export function everyServerRefuses(stack: () => Stack, engineOf: (dc: string) => readonly string[] = () => []): void {
    describe("refusals through every server", () => {
        test(`each server's own API answers 403, ${rounds} times out of ${rounds}, to ${questions.map((q) => q.name).join(", ")}`, async () => {
            const outputs = await stack().outputs();
            const containers = outputs.containers.value as Record<string, { servers: string[] }>;
            const appToken = outputs.appToken.value as string;
            const wrong: string[] = [];
            for (const [dc, { servers }] of Object.entries(containers)) {
                for (const server of servers) {
                    for (const question of questions) {
                        const answers = await askInside(engineOf(dc), server, question, appToken);
                        const counts = tally(answers);
                        console.log(`denials: ${server}, ${question.name}: ${JSON.stringify(counts)}`);
                        if (answers.length !== rounds || counts["403"] !== rounds) {
                            wrong.push(`${server}, ${question.name}: ${JSON.stringify(counts)}`);
                        }
                    }
                }
            }
            assert.deepEqual(wrong, [], "a refusal answered with something else than 403");
        });
    });
}
