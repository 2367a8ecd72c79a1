// TLS: the HTTPS API verifies against the stack's CA, servers refuse plain-text RPC, and an agent without
// the stack's CA or a certificate it signed gets no RPC through.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { docker, exec, filesIn } from "../support/docker";
import { run } from "../support/process";
import { api } from "./consul-cli";
import { type AgentFile, extraAgentJoins, removeExtraAgents } from "./extra-agents";
import type { Cluster } from "./state";
import { eventually } from "./wait";

export function tlsTests(cluster: () => Cluster): void {
    describe("TLS", () => {
        test("the HTTPS API presents a certificate that verifies against the caCertPem output", async () => {
            const { httpAddrs, ca } = cluster();
            for (const addr of Object.values(httpAddrs)) {
                const res = await api(addr, "/v1/status/leader", { ca });
                assert.equal(res.status, 200, addr);
                await assert.rejects(
                    api(addr, "/v1/status/leader"),
                    /self[- ]signed|unable to verify|unknown authority/i,
                    `${addr} must not verify without the stack's CA`,
                );
            }
        });

        test("a plain-text RPC connection to a server's port 8300 is refused", async () => {
            const since = new Date(Date.now() - 1000).toISOString();
            // 0x01 opens a plain Consul RPC stream; a server that verifies incoming TLS must drop it.
            const sent = await exec("dc1-client1", [
                "sh",
                "-c",
                "printf '\\001' | timeout 3 nc 10.201.1.11 8300; true",
            ]);
            assert.equal(sent.code, 0);
            // The wait is the check: it fails unless the refusal shows in the server's log.
            await eventually("the server's refusal in its log", 10, async () => {
                const out = await docker(["logs", "--since", since, "dc1-server1"]);
                return (out.stdout + out.stderr).includes("Non-TLS connection attempted with VerifyIncoming set")
                    ? true
                    : undefined;
            });
        });

        // The gossip key decides who joins the LAN pool (gossip.ts); TLS decides who may use the servers. An
        // agent that does not trust the stack's CA, or presents a certificate it did not sign, gets no RPC
        // through: no KV, no catalog, no registration of its own services.
        test("a client agent without the stack's CA, or without a certificate it signed, gets no RPC through; the same agent with both does", async () => {
            const c = cluster();
            const client = await filesIn("dc1-client1", ["/consul/config", "/consul/tls", "/consul/bin"]);
            // As real as the stack's: a CA of its own, and a client certificate signed by nobody the servers trust.
            const selfSigned = async (cn: string) => {
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-ca-"));
                try {
                    const made = await run("openssl", [
                        "req",
                        "-x509",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-nodes",
                        "-keyout",
                        path.join(dir, "key.pem"),
                        "-out",
                        path.join(dir, "cert.pem"),
                        "-subj",
                        `/CN=${cn}`,
                        "-days",
                        "1",
                        "-addext",
                        "keyUsage=critical,keyCertSign,digitalSignature",
                        "-addext",
                        `subjectAltName=DNS:${cn}`,
                    ]);
                    assert.equal(made.code, 0, `openssl could not make ${cn}: ${made.stderr}`);
                    return {
                        cert: fs.readFileSync(path.join(dir, "cert.pem")),
                        key: fs.readFileSync(path.join(dir, "key.pem")),
                    };
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            };
            const otherCa = await selfSigned("Other CA");
            const foreignCert = await selfSigned("client.dc1.consul");
            // Everything else as dc1-client1 has it, with the management token so ACLs cannot be the reason.
            const files = (name: string, address: string, swap: Record<string, Buffer>): AgentFile[] =>
                [...client.entries()].map(([file, content]) => {
                    if (file.endsWith("agent.json")) {
                        const config = JSON.parse(content.toString());
                        return {
                            file,
                            content: Buffer.from(
                                JSON.stringify({ ...config, node_name: name, advertise_addr: address }),
                            ),
                        };
                    }
                    if (file.endsWith("acl-tokens.json")) {
                        return { file, content: Buffer.from(JSON.stringify({ acl: { tokens: { agent: c.token } } })) };
                    }
                    return { file, content: swap[path.basename(file)] ?? content };
                });
            const rpc = async (name: string) => {
                const r = await exec(name, ["consul", "kv", "get", "-recurse", "example-app/"], {
                    CONSUL_HTTP_TOKEN: c.token,
                });
                return { ok: r.code === 0, said: r.stderr.trim() };
            };
            try {
                const probes: { name: string; address: string; swap: Record<string, Buffer>; says: RegExp }[] = [
                    // It cannot verify the servers' certificates.
                    {
                        name: "probe-other-ca",
                        address: "10.201.1.251",
                        swap: { "ca.pem": otherCa.cert },
                        says: /x509: certificate signed by unknown authority/,
                    },
                    // The servers cannot verify its certificate, and drop the connection.
                    {
                        name: "probe-foreign-cert",
                        address: "10.201.1.252",
                        swap: { "client.pem": foreignCert.cert, "client-key.pem": foreignCert.key },
                        says: /rpc error/,
                    },
                ];
                for (const p of probes) {
                    await extraAgentJoins(c, p.name, p.address, [], files(p.name, p.address, p.swap));
                    // It is in the gossip pool (it has the key); once it knows the servers, it tries them.
                    const tried = await eventually(`${p.name} tries the servers`, 20, async () => {
                        const r = await rpc(p.name);
                        return r.ok || !/No known Consul servers/.test(r.said) ? r : undefined;
                    });
                    assert.equal(tried.ok, false, `${p.name} got an RPC through`);
                    assert.match(tried.said, p.says, p.name);
                }
                // The probe dials whichever server it picked: one of dc1's servers logged the refusal.
                const since = new Date(Date.now() - 60_000).toISOString();
                const logs = await Promise.all(
                    ["dc1-server1", "dc1-server2", "dc1-server3"].map((s) => docker(["logs", "--since", since, s])),
                );
                assert.match(
                    logs.map((l) => l.stdout + l.stderr).join("\n"),
                    /from=10\.201\.1\.252:\d+ error="tls: failed to verify certificate: x509/,
                    "a dc1 server refuses the foreign client certificate",
                );
                assert.equal(
                    await extraAgentJoins(
                        c,
                        "probe-stack-ca",
                        "10.201.1.253",
                        [],
                        files("probe-stack-ca", "10.201.1.253", {}),
                    ),
                    true,
                    "the control agent with the stack's files did not join",
                );
                await eventually("the control agent's RPC", 20, async () =>
                    (await rpc("probe-stack-ca")).ok ? true : undefined,
                );
            } finally {
                await removeExtraAgents(c);
            }
        });
    });
}
