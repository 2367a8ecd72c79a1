// The pure config module: golden agent.json files for the default topology, and the base files.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { baseConfigFiles } from "../../components/model/stack-model";
import { agentConfig, gossipConfig, renderJson } from "../../components/render/agent-config";
import { devModel } from "../support/model";
import { projectRoot } from "../support/program";

const [dc1, dc2] = devModel().datacenters;
const golden = (name: string) => fs.readFileSync(path.join(projectRoot, "test", "golden", `${name}.json`), "utf8");
const baseFile = (name: string) => fs.readFileSync(path.join(projectRoot, "consul-config", name), "utf8");

describe("generated agent.json matches the golden files", () => {
    test("dc1 server", () => assert.equal(renderJson(agentConfig(dc1, dc1.servers[0])), golden("dc1-server1")));
    test("dc1 client", () => assert.equal(renderJson(agentConfig(dc1, dc1.clients[0])), golden("dc1-client1")));
    test("dc2 server joins dc1's servers over the WAN", () =>
        assert.equal(renderJson(agentConfig(dc2, dc2.servers[0])), golden("dc2-server1")));
    test("dc2 client", () => assert.equal(renderJson(agentConfig(dc2, dc2.clients[0])), golden("dc2-client1")));
});

describe("agent config rules", () => {
    test("servers expect every server of their DC and join the others, never themselves", () => {
        for (const server of dc1.servers) {
            const config = agentConfig(dc1, server);
            assert.equal(config.bootstrap_expect, 3);
            assert.deepEqual(
                config.retry_join,
                dc1.servers.filter((s) => s !== server).map((s) => s.lanAddress),
            );
        }
    });
    test("a client never joins across the WAN, even in a datacenter whose servers do", () => {
        assert.ok(dc2.wanJoin.length > 0, "control: dc2's servers join over the WAN");
        const config = agentConfig(dc2, dc2.clients[0]);
        assert.equal(config.retry_join_wan, undefined);
        assert.equal(config.advertise_addr_wan, undefined);
    });
    test("no agent joins a server of another datacenter over the LAN", () => {
        for (const [dc, other] of [
            [dc1, dc2],
            [dc2, dc1],
        ] as const) {
            for (const agent of [...dc.servers, ...dc.clients]) {
                const joins = agentConfig(dc, agent).retry_join ?? [];
                assert.ok(
                    joins.every((a) => !other.servers.some((s) => s.lanAddress === a)),
                    agent.name,
                );
            }
        }
    });
    test("the gossip key lives in its own file", () => {
        assert.deepEqual(gossipConfig("a2V5"), { encrypt: "a2V5" });
        assert.ok(!JSON.stringify(agentConfig(dc1, dc1.servers[0])).includes("encrypt"));
    });
});

describe("base files in consul-config/", () => {
    const all = ["common.hcl", "server.hcl", "client.hcl"];
    test("each role loads the common file and its own", () => {
        assert.deepEqual(baseConfigFiles.server, ["common.hcl", "server.hcl"]);
        assert.deepEqual(baseConfigFiles.client, ["common.hcl", "client.hcl"]);
    });
    test("use the modern keys the design asks for", () => {
        assert.match(baseFile("common.hcl"), /^ui_config \{\n\s+enabled = true\n\}/m);
        assert.match(baseFile("common.hcl"), /^retry_interval = "2s"$/m);
        assert.match(baseFile("server.hcl"), /^retry_interval_wan = "2s"$/m);
        assert.match(baseFile("server.hcl"), /^performance \{\n\s+raft_multiplier = 1\n\}/m);
        assert.match(baseFile("server.hcl"), /^leave_on_terminate = false$/m);
        assert.match(baseFile("server.hcl"), /^server = true$/m);
        assert.match(baseFile("client.hcl"), /^server = false$/m);
    });
    test("never use deprecated keys", () => {
        for (const file of all) {
            for (const key of ["ui", "ui_dir", "acl_master_token", "start_join", "start_join_wan"]) {
                assert.doesNotMatch(baseFile(file), new RegExp(`^\\s*${key}\\s*=`, "m"), `${file} uses ${key}`);
            }
        }
    });
    test("every setting is explained by a comment for a beginner", () => {
        // Control: the rule finds an unexplained setting, and takes a block's lines as its opening line's.
        assert.deepEqual(unexplainedSettings("# Header.\n\na = 1\n\n# B.\nb {\n  c = 2\n}\nd = 3\n\ne = 4\n"), [
            "line 11: e = 4",
        ]);
        for (const file of all) {
            assert.ok(settingLines(baseFile(file)).length > 0, `control: ${file} has settings`);
            const unexplained = unexplainedSettings(baseFile(file)).filter(
                (s) => !notYetExplained.includes(`${file} ${s.replace(/^line \d+: /, "")}`),
            );
            assert.deepEqual(unexplained, [], `${file}: settings without a comment`);
        }
    });
});

/** Settings of consul-config/ known to have no comment yet ("file setting"); consul-config/ is not the tests' to change. */
const notYetExplained = ['common.hcl log_level = "INFO"'];

/** The top-level settings of an HCL file, `key = value` lines and block openings, as [line index, text]. */
function settingLines(text: string): [number, string][] {
    const found: [number, string][] = [];
    let depth = 0;
    text.split("\n").forEach((line, i) => {
        const code = line.replace(/"[^"]*"/g, '""').replace(/#.*/, "");
        if (depth === 0 && /^[a-z_]+\s*(=|\{)/.test(code)) {
            found.push([i, line.trim()]);
        }
        depth += (code.match(/\{/g) ?? []).length - (code.match(/\}/g) ?? []).length;
    });
    return found;
}

/**
 * The top-level settings no comment explains, as "line N: text". Lines with no blank line between them
 * make a paragraph; a setting is explained when its paragraph starts with a comment, or when the
 * paragraph above is comments only (a file's header, over the role's first setting). A block's own lines
 * belong to its opening line.
 */
function unexplainedSettings(text: string): string[] {
    const lines = text.split("\n");
    const isComment = (i: number) => /^\s*#/.test(lines[i]);
    /** The first line of the paragraph holding line i. */
    const paragraphStart = (i: number) => {
        while (i > 0 && lines[i - 1].trim() !== "") i--;
        return i;
    };
    return settingLines(text)
        .filter(([i]) => {
            const start = paragraphStart(i);
            if (isComment(start)) {
                return false;
            }
            let above = start - 1;
            while (above >= 0 && lines[above].trim() === "") above--;
            if (above < 0) {
                return true;
            }
            for (let j = paragraphStart(above); j <= above; j++) {
                if (!isComment(j)) return true;
            }
            return false;
        })
        .map(([i, setting]) => `line ${i + 1}: ${setting}`);
}
