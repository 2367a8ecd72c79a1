// TLS: the HTTPS API verifies against the stack's CA, servers refuse plain-text RPC, and an agent with
// another CA cannot join.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { api } from "./consul-cli";
import { docker, exec, filesIn } from "../support/docker";
import { run } from "../support/process";
import { AgentFile, extraAgentJoins, removeExtraAgents } from "./extra-agents";
import type { Cluster } from "./state";
import { eventually } from "./wait";

export function tlsTests(cluster: () => Cluster): void {
    describe("TLS", () => {
        test("the HTTPS API presents a certificate that verifies against the caCertPem output", async () => {
            const { httpAddrs, ca } = cluster();
            for (const addr of Object.values(httpAddrs)) {
                const res = await api(addr, "/v1/status/leader", { ca });
                assert.equal(res.status, 200, addr);
                await assert.rejects(api(addr, "/v1/status/leader"), /self[- ]signed|unable to verify|unknown authority/i,
                    `${addr} must not verify without the stack's CA`);
            }
        });

        test("a plain-text RPC connection to a server's port 8300 is refused", async () => {
            const since = new Date(Date.now() - 1000).toISOString();
            // 0x01 opens a plain Consul RPC stream; a server that verifies incoming TLS must drop it.
            const sent = await exec("dc1-client1", ["sh", "-c", "printf '\\001' | timeout 3 nc 10.201.1.11 8300; true"]);
            assert.equal(sent.code, 0);
            // The wait is the check: it fails unless the refusal shows in the server's log.
            await eventually("the server's refusal in its log", 10, async () => {
                const out = await docker(["logs", "--since", since, "dc1-server1"]);
                return (out.stdout + out.stderr).includes("Non-TLS connection attempted with VerifyIncoming set") ? true : undefined;
            });
        });

        test("a client agent without the stack's CA cannot join; the same agent with it can", async () => {
            const c = cluster();
            const client = await filesIn("dc1-client1", ["/consul/config", "/consul/tls", "/consul/bin"]);
            // Another CA, as real as the stack's: the agent has a CA, just not the one the servers use.
            const made = await run("openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null",
                "-subj", "/CN=Other CA", "-days", "1", "-addext", "keyUsage=critical,keyCertSign,digitalSignature",
            ]);
            assert.equal(made.code, 0, `openssl could not make another CA: ${made.stderr}`);
            const otherCa = made.stdout;
            // Everything else as dc1-client1 has it, with the management token so ACLs cannot be the reason.
            const files = (name: string, address: string, caPem: string): AgentFile[] =>
                [...client.entries()].map(([file, content]) => {
                    if (file.endsWith("agent.json")) {
                        const config = JSON.parse(content.toString());
                        return { file, content: Buffer.from(JSON.stringify({ ...config, node_name: name, advertise_addr: address })) };
                    }
                    if (file.endsWith("acl-tokens.json")) {
                        return { file, content: Buffer.from(JSON.stringify({ acl: { tokens: { agent: c.token } } })) };
                    }
                    return { file, content: file.endsWith("/ca.pem") ? Buffer.from(caPem) : content };
                });
            try {
                const joined = await extraAgentJoins(c, "probe-other-ca", "10.201.1.251", [], files("probe-other-ca", "10.201.1.251", otherCa));
                const logs = await docker(["logs", "--tail", "5", "probe-other-ca"]);
                assert.equal(joined, false, `an agent with another CA joined dc1; its log:\n${logs.stdout}${logs.stderr}`);
                assert.equal(await extraAgentJoins(c, "probe-stack-ca", "10.201.1.252", [], files("probe-stack-ca", "10.201.1.252", c.ca)), true,
                    "the control agent with the stack's CA did not join");
            } finally {
                await removeExtraAgents(c);
            }
        });
    });
}
