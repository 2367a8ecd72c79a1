// What each agent waits for before its first start: checked as text, and as sh that parses and behaves.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { agentReadyScript } from "../../components/render/agent-ready";
import { devModel } from "../support/model";

const [dc1, dc2] = devModel().datacenters;

test("the primary's servers wait for nothing", () => {
    assert.equal(agentReadyScript(dc1, dc1.servers[0]), undefined);
});

test("a secondary server waits until its replication token resolves on one of the primary's servers, over the WAN", () => {
    const script = agentReadyScript(dc2, dc2.servers[0]) as string;
    assert.match(script, /s\/\.\*"replication"/);
    assert.match(script, /for address in '10\.201\.0\.11' '10\.201\.0\.12' '10\.201\.0\.13'; do/);
    assert.match(
        script,
        /CONSUL_HTTP_TOKEN="\$t" consul acl token read -self -http-addr="https:\/\/\$\{address\}:8501" \$tls -tls-server-name='server\.dc1\.consul'/,
    );
});

test("a client waits until every token it holds resolves on one of its own datacenter's servers", () => {
    const script = agentReadyScript(dc2, dc2.clients[0]) as string;
    assert.match(script, /for address in '10\.201\.2\.11'; do/);
    assert.match(script, /-tls-server-name='server\.dc2\.consul'/);
    assert.ok(!script.includes("10.201.1."), "a dc2 client never asks dc1's LAN");
});

test("the sh parses, and `ready` reads the tokens from the agent's files and asks each server until one answers", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ready-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const script = (agentReadyScript(dc1, dc1.clients[0]) as string).replace(/\/consul\/config\//g, `${dir}/`);
    fs.writeFileSync(
        path.join(dir, "acl-tokens.json"),
        JSON.stringify({ acl: { tokens: { agent: "agent-secret" } } }, null, 2),
    );
    fs.writeFileSync(
        path.join(dir, "services.json"),
        JSON.stringify({ services: [{ id: "a", token: "svc-secret" }] }, null, 2),
    );
    // A stand-in for consul that records what it was asked; only .12 answers, and only for known tokens.
    fs.writeFileSync(
        path.join(dir, "consul"),
        `#!/bin/sh\necho "$CONSUL_HTTP_TOKEN $5" >> ${dir}/asked\ncase "$5" in *10.201.1.12*) exit 0;; esac\nexit 1\n`,
        { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, "ready.sh"), script);
    execFileSync("sh", ["-n", path.join(dir, "ready.sh")]);
    const out = execFileSync("sh", ["-c", `. ${dir}/ready.sh && ready && echo READY`], {
        env: { PATH: `${dir}:/usr/bin:/bin` },
        encoding: "utf8",
    });
    assert.equal(out.trim(), "READY");
    assert.deepEqual(fs.readFileSync(path.join(dir, "asked"), "utf8").trim().split("\n"), [
        "agent-secret -http-addr=https://10.201.1.11:8501",
        "agent-secret -http-addr=https://10.201.1.12:8501",
        "svc-secret -http-addr=https://10.201.1.12:8501",
    ]);
});
