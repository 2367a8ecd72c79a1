// ACLs: what an anonymous request may do, token replication to dc2, and what an agent token may not.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { aclTokensIn } from "../support/acl-tokens";
import { api } from "./consul-cli";
import type { Cluster } from "./state";
import { eventually } from "./wait";

export function aclTests(cluster: () => Cluster): void {
    describe("ACLs", () => {
        const kvPath = "/v1/kv/probe/acl";

        test("anonymously, only node and service names are readable (for DNS); KV, ACLs, agent and every write are denied", async () => {
            const { httpAddrs, ca, token } = cluster();
            await api(httpAddrs.dc1, kvPath, { ca, token, method: "PUT", body: "secret-ish" });
            assert.equal((await api(httpAddrs.dc1, kvPath, { ca })).status, 403, "anonymous KV read");
            assert.equal(
                (await api(httpAddrs.dc1, kvPath, { ca, method: "PUT", body: "x" })).status,
                403,
                "anonymous KV write",
            );
            assert.equal((await api(httpAddrs.dc1, "/v1/acl/tokens", { ca })).status, 403, "anonymous ACL token list");
            assert.equal(
                (await api(httpAddrs.dc1, "/v1/acl/policies", { ca })).status,
                403,
                "anonymous ACL policy list",
            );
            assert.equal((await api(httpAddrs.dc1, "/v1/agent/self", { ca })).status, 403, "anonymous agent read");
            const register = JSON.stringify({ Node: "anon-node", Address: "10.9.9.9" });
            assert.equal(
                (await api(httpAddrs.dc1, "/v1/catalog/register", { ca, method: "PUT", body: register })).status,
                403,
                "anonymous catalog write",
            );
            // dnsAnonymousRead (on by default): the names DNS answers with are readable without a token.
            const nodes = await api(httpAddrs.dc1, "/v1/catalog/nodes", { ca });
            assert.deepEqual([nodes.status, JSON.parse(nodes.body).length], [200, 4], "anonymous catalog node list");

            assert.equal(
                (await api(httpAddrs.dc1, kvPath, { ca, token })).status,
                200,
                "KV read with the management token",
            );
            assert.equal(
                (await api(httpAddrs.dc1, kvPath, { ca, token, method: "PUT", body: "y" })).status,
                200,
                "KV write",
            );
            assert.equal(
                (await api(httpAddrs.dc1, "/v1/acl/tokens", { ca, token })).status,
                200,
                "ACL read with the management token",
            );
        });

        test("tokens replicate to dc2, and a cross-DC KV read from dc2 with a token works", async () => {
            const { httpAddrs, ca, token } = cluster();
            const status = await eventually("dc2's ACL token replication", 30, async () => {
                const res = await api(httpAddrs.dc2, "/v1/acl/replication", { ca, token });
                const body = JSON.parse(res.body) as {
                    Enabled: boolean;
                    Running: boolean;
                    ReplicationType: string;
                    ReplicatedTokenIndex: number;
                };
                return body.Running && body.ReplicatedTokenIndex > 0 ? body : undefined;
            });
            assert.deepEqual([status.Enabled, status.ReplicationType], [true, "tokens"]);
            const read = await api(httpAddrs.dc2, `${kvPath}?dc=dc1&raw`, { ca, token });
            assert.deepEqual([read.status, read.body], [200, "y"]);
            // A token dc2 resolves on its own: the dc2 client's agent token, replicated from dc1.
            const dc2Agent = (await aclTokensIn("dc2-client1")).agent;
            const self = await api(httpAddrs.dc2, "/v1/acl/token/self", { ca, token: dc2Agent });
            assert.equal(self.status, 200, "dc2 resolves the dc2 client's agent token");
        });

        test("an agent token cannot read KV", async () => {
            const { httpAddrs, ca, token } = cluster();
            const agentToken = (await aclTokensIn("dc1-client1")).agent;
            assert.notEqual(agentToken, token);
            assert.equal(
                (await api(httpAddrs.dc1, "/v1/acl/token/self", { ca, token: agentToken })).status,
                200,
                "the agent token exists",
            );
            assert.equal(
                (await api(httpAddrs.dc1, kvPath, { ca, token: agentToken })).status,
                403,
                "KV read with an agent token",
            );
        });
    });
}
