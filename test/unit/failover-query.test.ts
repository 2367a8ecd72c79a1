// The failover prepared query template: its definition, and one per datacenter in the stack, made with
// the management token as a secret (stack-config.test.ts: none with failoverQueries false); and the answers
// the dynamic resources wait out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { failoverQuery } from "../../components/render/prepared-query";
import { notYet } from "../../components/resources/consul-api";
import { devStackRun, fakeSecretUuid } from "../support/fake-state";
import { unwrapSecret } from "../support/program";

const dynamicType = "pulumi-nodejs:dynamic:Resource";

test("a catch-all template: every service name, passing instances only, failing over to the other datacenters in stack order", () => {
    assert.deepEqual(failoverQuery("dc2", ["dc1", "dc2", "dc3"]), {
        Name: "",
        Template: { Type: "name_prefix_match" },
        Service: { Service: "${name.full}", OnlyPassing: true, Failover: { Datacenters: ["dc1", "dc3"] } },
    });
});

test("the dev stack makes one template per datacenter through its published API, with the management token kept secret", async () => {
    const run = await devStackRun();
    const queries = run.resources.filter((r) => r.type === dynamicType && r.name.endsWith("-failover-query"));
    assert.deepEqual(queries.map((q) => q.name).sort(), ["consul-dc1-failover-query", "consul-dc2-failover-query"]);
    for (const q of queries) {
        const token = unwrapSecret(q.inputs.token);
        assert.ok(token.secret, "the token input is a secret");
        assert.equal(token.value, fakeSecretUuid("consul-acl-management-token"));
        assert.equal(JSON.parse(q.inputs.definition as string).Name, "");
    }
    assert.equal(queries.find((q) => q.name === "consul-dc2-failover-query")?.inputs.httpAddr, "127.0.0.1:8501");
});

test("the dynamic resources ask again while a datacenter answers 'not yet' (no leader, ACLs not there yet), never on a real refusal", () => {
    assert.equal(
        notYet({
            status: 403,
            body: "rpc error making call: ACL system must be bootstrapped before making any requests that require authorization: ACL not found",
        }),
        true,
    );
    assert.equal(notYet({ status: 403, body: "ACL not found" }), true);
    assert.equal(notYet({ status: 500, body: "No cluster leader" }), true);
    assert.equal(
        notYet({ status: 403, body: "Permission denied: token with AccessorID '…' lacks permission 'query:write'" }),
        false,
    );
    assert.equal(notYet({ status: 500, body: "non-existent prepared query" }), false);
    assert.equal(notYet({ status: 200, body: "[]" }), false);
});
