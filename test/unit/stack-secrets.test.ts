// The default stack's secrets under mocks: the gossip key, tokens and private keys reach containers and
// outputs only as secrets, and none comes from a random resource whose ID would show it; each agent's
// acl-tokens.json, and what acl-init creates and seeds in the primary datacenter.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parseAclTokens } from "../support/acl-tokens";
import { agents, labelsOf, named, ofType, secretValues, T, upload, uploads } from "../support/declared";
import { devStackRun, fakeGossipKey, fakePrivateKeyPem, fakeSecretUuid } from "../support/fake-state";
import { outputValue, type ProgramRun, projectRoot, unwrapSecret } from "../support/program";

describe("default stack (Pulumi.dev.yaml)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await devStackRun();
    });

    test("the gossip key is uploaded to every agent as a secret, and only in gossip.json", () => {
        for (const c of agents(run)) {
            assert.ok(unwrapSecret(c.inputs.uploads).secret, `${c.inputs.name}: uploads must be secret`);
            assert.deepEqual(JSON.parse(upload(c, "gossip.json").content as string), { encrypt: fakeGossipKey });
            for (const u of uploads(c).filter((x) => !x.file.endsWith("gossip.json"))) {
                assert.ok(!JSON.stringify(u.content).includes(fakeGossipKey), `${u.file} must not hold the key`);
            }
        }
        for (const seed of ofType(run, T.password)) {
            assert.deepEqual(
                [seed.inputs.length, seed.inputs.special],
                [64, false],
                `${seed.name}: 64 letters and digits`,
            );
        }
    });

    test("gossipKey, aclBootstrapToken(s) and appToken are secret outputs; no other output is secret or holds a secret", async () => {
        assert.equal(await pulumi.isSecret(run.outputs.gossipKey), true);
        assert.equal(await outputValue(run.outputs.gossipKey), fakeGossipKey);
        assert.equal(await pulumi.isSecret(run.outputs.aclBootstrapToken), true);
        assert.equal(await outputValue(run.outputs.aclBootstrapToken), fakeSecretUuid("consul-acl-management-token"));
        assert.equal(await pulumi.isSecret(run.outputs.aclBootstrapTokens), true);
        assert.equal(await pulumi.isSecret(run.outputs.appToken), true);
        assert.equal(await outputValue(run.outputs.appToken), fakeSecretUuid("consul-example-app-token-secret"));
        // gossip key, 6 agent tokens, the replication, web, frontend and mesh-gateway service, app and management
        // tokens, 4 private keys and the CA's
        assert.equal(secretValues(run).length, 1 + 6 + 6 + 4 + 1);
        for (const [key, output] of Object.entries(run.outputs).filter(
            ([k]) => !["gossipKey", "aclBootstrapToken", "aclBootstrapTokens", "appToken"].includes(k),
        )) {
            assert.equal(await pulumi.isSecret(output), false, `${key} should not be secret`);
            const text = JSON.stringify(await outputValue(output));
            assert.ok(
                secretValues(run).every((v) => !text.includes(v)),
                `${key} holds a secret`,
            );
        }
    });

    test("no secret comes from a random resource whose ID is its value: the engine stores IDs in plain text", () => {
        // The random provider's ID for RandomBytes is its base64, for RandomId its b64_url, and for
        // RandomString/RandomInteger the result itself; a key made from them would sit unencrypted in the state.
        const leaky = [
            "randomBytes:RandomBytes",
            "randomId:RandomId",
            "randomString:RandomString",
            "randomInteger:RandomInteger",
        ];
        const secretUuids = ofType(run, T.uuid).filter((r) => !r.name.endsWith("-accessor"));
        assert.deepEqual(
            secretUuids.map((r) => r.name),
            [],
            "RandomUuid only for accessor IDs, which are not credentials",
        );
        assert.deepEqual(
            run.resources.filter((r) => leaky.some((t) => r.type.endsWith(t))).map((r) => `${r.type} ${r.name}`),
            [],
        );
    });

    test("every token and private key reaches containers only inside secret inputs", () => {
        for (const c of ofType(run, T.container)) {
            for (const [key, value] of Object.entries(c.inputs)) {
                const { secret, value: plain } = unwrapSecret(value);
                const text = JSON.stringify(plain);
                if (!secret) {
                    assert.ok(
                        secretValues(run).every((v) => !text.includes(v)),
                        `${c.inputs.name}.${key} holds a secret in plain text`,
                    );
                }
            }
        }
        for (const key of ofType(run, T.privateKey)) {
            const users = run.resources.filter((r) => JSON.stringify(r.inputs).includes(fakePrivateKeyPem(key.name)));
            for (const user of users) {
                const field = Object.values(user.inputs).find((v) =>
                    JSON.stringify(v).includes(fakePrivateKeyPem(key.name)),
                );
                assert.ok(unwrapSecret(field).secret, `${user.name} receives ${key.name} as plain text`);
            }
        }
    });

    test("each agent gets its own token; only primary servers hold the management token, only secondary servers the replication token", () => {
        const tokens = (name: string) =>
            parseAclTokens(upload(named(run, T.container, name), "acl-tokens.json").content as string);
        const management = fakeSecretUuid("consul-acl-management-token");
        const replication = fakeSecretUuid("consul-acl-replication-token-secret");
        assert.deepEqual(tokens("dc1-server2"), {
            agent: fakeSecretUuid("consul-dc1-server2-token-secret"),
            initial_management: management,
        });
        assert.deepEqual(tokens("dc1-client1"), { agent: fakeSecretUuid("consul-dc1-client1-token-secret") });
        assert.deepEqual(tokens("dc2-server1"), {
            agent: fakeSecretUuid("consul-dc2-server1-token-secret"),
            replication,
        });
        assert.deepEqual(tokens("dc2-client1"), { agent: fakeSecretUuid("consul-dc2-client1-token-secret") });
    });

    test("acl-init creates every agent token and the replication token in the primary DC, with the management token in a file", () => {
        const init = named(run, T.container, "consul-acl-init");
        assert.deepEqual(labelsOf(init), {
            "consul.datacenter": "dc1",
            "consul.role": "acl-init",
            "consul.stack": "dev",
        });
        assert.deepEqual(init.inputs.networksAdvanced, [
            { name: "dc1-lan", ipv4Address: "10.201.1.10", aliases: ["consul-acl-init"] },
        ]);
        assert.deepEqual(init.inputs.envs, [
            "CONSUL_CACERT=/consul/acl-init/ca.pem",
            "CONSUL_HTTP_TOKEN_FILE=/consul/acl-init/management.token",
        ]);
        assert.ok(unwrapSecret(init.inputs.uploads).secret, "acl-init uploads are secret");
        assert.equal(
            upload(init, "../acl-init/management.token").content,
            fakeSecretUuid("consul-acl-management-token"),
        );
        const script = upload(init, "../acl-init/init.sh").content as string;
        for (const agent of [
            "dc1-server1",
            "dc1-server2",
            "dc1-server3",
            "dc1-client1",
            "dc2-server1",
            "dc2-client1",
        ]) {
            const dc = agent.split("-")[0];
            assert.ok(
                script.includes(`'${fakeSecretUuid(`consul-${dc}-${agent.split("-")[1]}-token-secret`)}'`),
                `${agent} token secret`,
            );
            assert.ok(script.includes(`'-node-identity' '${agent}:${dc}'`), `${agent} node identity`);
        }
        assert.ok(
            script.includes(
                `'${fakeSecretUuid("consul-acl-replication-token-secret")}' 'ACL replication for secondary datacenters' '-policy-name' 'acl-replication'`,
            ),
            "the replication token with its policy",
        );
        assert.ok(
            !script.includes(fakeSecretUuid("consul-acl-management-token")),
            "the management token is not in the script",
        );
        assert.equal(init.inputs.wait, undefined, "its datacenter's readiness step waits for it, not its own create");
    });

    test("acl-init seeds KV from consul-config/kv/dev.json, grants DNS reads to the anonymous token, and creates the app and service tokens", () => {
        const script = upload(named(run, T.container, "consul-acl-init"), "../acl-init/init.sh").content as string;
        const seed = JSON.parse(
            fs.readFileSync(path.join(projectRoot, "consul-config", "kv", "dev.json"), "utf8"),
        ) as Record<string, string>;
        for (const [key, value] of Object.entries(seed)) {
            assert.ok(script.includes(`ensure seed '${key}' '${value}'`), `seeds ${key}`);
        }
        assert.match(script, /'-policy-name' 'anonymous-dns-read'/);
        assert.match(script, /'registers the web service' '-service-identity' 'web'/);
        assert.match(script, /'example-app \(examples\/app\.ts\)' '-policy-name' 'example-app'/);
        const policy = upload(named(run, T.container, "consul-acl-init"), "../acl-init/policy-example-app.hcl")
            .content as string;
        assert.match(policy, /service "web" \{\n {2}policy = "read"\n\}/);
        assert.match(policy, /key_prefix "example-app\/" \{\n {2}policy = "read"\n\}/);
    });
});
