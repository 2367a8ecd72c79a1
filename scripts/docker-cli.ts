// The docker CLI, pointed at one of a stack's Docker hosts: the flags that reach it, and a runner that
// never puts a secret on a command line (values travel in docker's environment, named on its command line).
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import type { DockerHostModel } from "../components/model/docker-hosts";

export interface Run {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * docker's flags for `host`: none for the local engine (so DOCKER_HOST, if you set one, applies, as it does
 * for the stack's provider), -H for unix:// and ssh://, and -H with TLS client certificates for tcp://.
 * A relative certPath is the project's, where `pulumi up` reads it. The docker CLI takes no ssh options
 * (docker/cli#6088): an ssh:// host's dockerSshOpts belong in ~/.ssh/config for scripts to use them.
 */
export function dockerArgs(host: DockerHostModel, root: string): string[] {
    if (host.endpoint === undefined) {
        return [];
    }
    if (!host.endpoint.startsWith("tcp://") || host.certPath === undefined) {
        return ["-H", host.endpoint];
    }
    const cert = (file: string) => path.resolve(root, host.certPath as string, file);
    return [
        "-H",
        host.endpoint,
        "--tlsverify",
        "--tlscacert",
        cert("ca.pem"),
        "--tlscert",
        cert("cert.pem"),
        "--tlskey",
        cert("key.pem"),
    ];
}

export interface DockerOptions {
    /** Written to docker's stdin, e.g. a tar stream for `docker cp -`. */
    readonly input?: Buffer;
    /** Variables for `docker exec --env NAME`: their values go in docker's own environment, never in argv. */
    readonly env?: Readonly<Record<string, string>>;
    readonly timeoutMs?: number;
}

/** `--env NAME` for each variable of `env`, for `docker exec` or `docker run`. */
export const envNames = (env: Readonly<Record<string, string>> = {}): string[] =>
    Object.keys(env).flatMap((k) => ["--env", k]);

/** Runs docker and collects what it prints; never rejects (a docker that cannot start exits 127). */
export function docker(args: readonly string[], options: DockerOptions = {}): Promise<Run> {
    return new Promise((resolve) => {
        const child = spawn("docker", args, {
            env: { ...process.env, ...options.env },
            timeout: options.timeoutMs ?? 120_000,
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.input);
        child.on("error", (e) => err.push(Buffer.from(e.message)));
        child.on("close", (code) =>
            resolve({
                code: code ?? 1,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr:
                    Buffer.concat(err).toString("utf8") ||
                    (code === 0 ? "" : `docker exited with ${code ?? "a signal"}`),
            }),
        );
    });
}

/** The same, waiting for it: for the quick look-ups of `npm start`, `npm run status` and `npm run down`. */
export function dockerSync(args: readonly string[]): Run {
    const result = spawnSync("docker", args, { encoding: "utf8", timeout: 30_000 });
    return { code: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}
