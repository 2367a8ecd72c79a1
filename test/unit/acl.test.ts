// The pure ACL pieces: each agent's token file, and the script that creates every token.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
    aclInitScript,
    aclTokensConfig,
    appPolicyRules,
    dnsPolicyName,
    replicationPolicyName,
    replicationPolicyRules,
} from "../../components/render/acl";

const tokens = [
    {
        description: "agent token for dc1-server1",
        accessorId: "acc-1",
        secretId: "sec-1",
        nodeIdentity: { node: "dc1-server1", datacenter: "dc1" },
    },
    { description: "it's replication", accessorId: "acc-2", secretId: "sec-2", policy: replicationPolicyName },
    { description: "registers web", accessorId: "acc-3", secretId: "sec-3", serviceIdentity: "web", awaited: true },
    {
        description: "agent token for dc1-client1",
        accessorId: "acc-4",
        secretId: "sec-4",
        nodeIdentity: { node: "dc1-client1", datacenter: "dc1" },
        awaited: true,
    },
];
const base = {
    serverAddresses: ["10.0.0.11", "10.0.0.12"],
    serverName: "server.dc1.consul",
    doneFile: "/tmp/done",
    policies: [
        { name: replicationPolicyName, file: "/x/replication.hcl" },
        { name: dnsPolicyName, file: "/x/dns.hcl" },
    ],
    tokens,
    kv: [
        ["app/config/size", "10"],
        ["app/config/quote", "it's"],
    ] as [string, string][],
};
const script = aclInitScript({ ...base, anonymous: { policy: dnsPolicyName, grant: true } });

describe("aclTokensConfig", () => {
    test("an agent gets its own token, plus what its role needs", () => {
        assert.deepEqual(aclTokensConfig({ agent: "a" }), { acl: { tokens: { agent: "a" } } });
        assert.deepEqual(aclTokensConfig({ agent: "a", initialManagement: "m" }), {
            acl: { tokens: { agent: "a", initial_management: "m" } },
        });
        assert.deepEqual(aclTokensConfig({ agent: "a", replication: "r" }), {
            acl: { tokens: { agent: "a", replication: "r" } },
        });
    });
});

describe("aclInitScript", () => {
    test("is valid POSIX sh", (t) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "acl-")), "init.sh");
        t.after(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
        fs.writeFileSync(file, script);
        assert.doesNotThrow(() => execFileSync("sh", ["-n", file], { stdio: "pipe" }), "sh -n rejects the script");
    });
    test("creates each token with its fixed accessor and secret, and its node identity or policy", () => {
        assert.ok(
            script.includes(
                "ensure token 'acc-1' 'sec-1' 'agent token for dc1-server1' '-node-identity' 'dc1-server1:dc1'\n",
            ),
            script,
        );
        assert.ok(
            script.includes(
                `ensure token 'acc-2' 'sec-2' 'it'\\''s replication' '-policy-name' '${replicationPolicyName}'`,
            ),
            script,
        );
        assert.ok(script.includes(`ensure policy '${replicationPolicyName}' '/x/replication.hcl'`), script);
        assert.ok(script.includes("ensure token 'acc-3' 'sec-3' 'registers web' '-service-identity' 'web'"), script);
    });
    test("gives the anonymous token the DNS policy, or when off deletes that policy, which takes it off the token", () => {
        assert.ok(
            script.includes(
                `'-accessor-id' '00000000-0000-0000-0000-000000000002' '-description' 'Anonymous Token' '-policy-name' '${dnsPolicyName}'`,
            ),
            script,
        );
        assert.ok(!script.includes("ensure revoke"), script);
        const off = aclInitScript({ ...base, anonymous: { policy: dnsPolicyName, grant: false } });
        assert.ok(off.includes(`ensure revoke '${dnsPolicyName}'`), off);
        assert.ok(!off.includes("00000000-0000-0000-0000-000000000002"), "the anonymous token is not updated when off");
    });
    test("seeds each KV key only when it does not exist (CAS index 0), the replication token first, done only after all", () => {
        assert.ok(script.includes("ensure seed 'app/config/size' '10'\n"), script);
        assert.ok(script.includes("ensure seed 'app/config/quote' 'it'\\''s'"), script);
        assert.match(
            script,
            /seed\(\) \{ consul kv put -cas -modify-index=0 "\$1" "\$2" >\/dev\/null 2>&1 \|\| consul kv get "\$1"/,
        );
        assert.ok(
            script.indexOf("touch '/tmp/done'") > script.lastIndexOf("ensure seed"),
            "marks itself done only after every token and key",
        );
    });
    test("what agents wait for first: the replication policy and token, then the tokens clients start with; then the other policies and tokens", () => {
        const order = [...script.matchAll(/^ensure (policy|token) '([^']+)'/gm)].map((m) => m[2]);
        assert.deepEqual(order, [replicationPolicyName, "acc-2", "acc-3", "acc-4", dnsPolicyName, "acc-1"]);
    });
    test("tries every server over HTTPS with the server's TLS name", () => {
        assert.match(script, /for address in '10\.0\.0\.11' '10\.0\.0\.12'; do/);
        assert.match(script, /CONSUL_HTTP_ADDR="https:\/\/\$\{address\}:8501"/);
        assert.match(script, /CONSUL_TLS_SERVER_NAME='server\.dc1\.consul'/);
    });
    test("never prints a secret: every echo names only the step and a non-secret argument", () => {
        for (const line of script.split("\n").filter((l) => l.includes("echo"))) {
            assert.ok(!line.includes("$3") && !line.includes("sec-"), `prints a secret: ${line}`);
        }
    });
    test("marks itself done only after every token exists", () => {
        const lines = script.split("\n");
        const done = lines.findIndex((l) => l.startsWith("touch '/tmp/done'"));
        assert.ok(done > lines.findIndex((l) => l.includes("'acc-2'")), "touch comes after the last token");
    });
});

describe("replication policy", () => {
    test("grants ACL write and read-only service and intention access, nothing more", () => {
        assert.equal(
            replicationPolicyRules,
            'acl = "write"\noperator = "write"\nservice_prefix "" {\n  policy     = "read"\n  intentions = "read"\n}\n',
        );
    });
});

describe("appPolicyRules", () => {
    test("reads its own and the discovered services, the nodes they run on, and its KV prefix; writes nothing", () => {
        const rules = appPolicyRules({
            service: "example-app",
            kvPrefix: "example-app/",
            discovers: ["web", "api", "web"],
        });
        assert.equal(
            rules,
            [
                'service "api" {\n  policy = "read"\n}',
                'service "example-app" {\n  policy = "read"\n}',
                'service "web" {\n  policy = "read"\n}',
                'node_prefix "" {\n  policy = "read"\n}',
                'key_prefix "example-app/" {\n  policy = "read"\n}',
                "",
            ].join("\n"),
        );
        assert.ok(!rules.includes("write"));
    });
    test("where peers export to its cluster, it may write its own service, and only that: Consul then shows it imported services", () => {
        const rules = appPolicyRules({
            service: "example-app",
            kvPrefix: "example-app/",
            discovers: ["web"],
            fromPeers: true,
        });
        assert.deepEqual(rules.match(/service "[^"]+" \{\n {2}policy = "write"/g), [
            'service "example-app" {\n  policy = "write"',
        ]);
        assert.equal(rules.match(/write/g)?.length, 1);
    });
});
