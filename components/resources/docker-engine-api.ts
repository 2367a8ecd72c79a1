// One GET to a Docker Engine's API, over the same transports the Docker provider takes: the local socket
// (or DOCKER_HOST), tcp:// with TLS client certificates, and ssh://, where `docker system dial-stdio` on the
// remote side carries the HTTP (as the docker CLI and the provider do). The readiness step (agents-healthy.ts)
// polls containers' health through it. The engine serializes it with that dynamic resource, so it imports
// nothing at module level but types.
import type { DockerHostModel } from "../model/docker-hosts";

/** What a dynamic provider needs to reach a Docker host: the model's host, its certPath made absolute. */
export type EngineAddress = Pick<DockerHostModel, "endpoint" | "certPath" | "sshOpts">;

export interface EngineAnswer {
    readonly status: number;
    readonly body: string;
}

/** The Engine API version the calls ask for: Docker 20.10's, which every supported engine speaks. */
const apiVersion = "v1.41";

/** Resolves with the status and body of `GET path` (e.g. /containers/ID/json); rejects when no answer comes. */
export async function engineGet(host: EngineAddress, path: string): Promise<EngineAnswer> {
    const http = await import("node:http");
    const https = await import("node:https");
    const fs = await import("node:fs");
    const nodePath = await import("node:path");
    const { spawn } = await import("node:child_process");
    const { Duplex } = await import("node:stream");
    const endpoint = host.endpoint ?? process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
    const url = new URL(endpoint);
    const options: import("node:http").RequestOptions = {
        path: `/${apiVersion}${path}`,
        method: "GET",
        timeout: 15_000,
        agent: false,
    };
    let request: typeof http.request = http.request;
    let done = () => {};
    if (url.protocol === "unix:") {
        options.socketPath = url.pathname;
    } else if (url.protocol === "tcp:") {
        // The local engine's DOCKER_CERT_PATH, as the docker CLI reads it, when the stack names no certPath.
        const certPath = host.certPath ?? (host.endpoint === undefined ? process.env.DOCKER_CERT_PATH : undefined);
        Object.assign(options, { host: url.hostname, port: Number(url.port) });
        if (certPath !== undefined) {
            const read = (f: string) => fs.readFileSync(nodePath.join(certPath, f));
            Object.assign(options, { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") });
            request = https.request;
        }
    } else if (url.protocol === "ssh:") {
        const target = `${url.username ? `${url.username}@` : ""}${url.hostname}`;
        const ssh = spawn(
            "ssh",
            [
                ...(host.sshOpts ?? []),
                ...(url.port ? ["-p", url.port] : []),
                target,
                "--",
                "docker",
                "system",
                "dial-stdio",
            ],
            {
                stdio: ["pipe", "pipe", "ignore"],
            },
        );
        // Node uses createConnection only when no agent is given.
        delete options.agent;
        options.createConnection = () =>
            Duplex.from({ readable: ssh.stdout, writable: ssh.stdin }) as unknown as import("node:net").Socket;
        options.host = "docker";
        done = () => ssh.kill();
    } else {
        throw new Error(`unsupported Docker endpoint ${endpoint}`);
    }
    return new Promise((resolve, reject) => {
        const req = request(options, (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => {
                done();
                resolve({ status: res.statusCode ?? 0, body: text });
            });
        });
        req.on("timeout", () => req.destroy(new Error(`no answer from the Docker engine at ${endpoint} within 15 s`)));
        req.on("error", (e) => {
            done();
            reject(e);
        });
        req.end();
    });
}
