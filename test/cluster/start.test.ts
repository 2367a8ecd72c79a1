// Cluster tier: the two-command start. `npm start`, `npm run status` and `npm run down`, run as a user runs
// them, in a scratch copy of the project made a git repository, so that the test can say the commands
// leave the work tree clean. Also the faults they must explain: Docker out of reach, a host port taken,
// containers removed by hand.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { docker } from "../support/docker";
import { run } from "../support/process";
import { projectRoot, stackConfig } from "../support/program";
import { leftovers } from "../support/teardown";
import { api } from "./consul-cli";
import { checkPrerequisites } from "./prerequisites";

let scratch: string;
let started = false;

/** An npm script in the scratch copy, as a user with no backend of their own runs it. */
async function npm(args: string[], env: Record<string, string> = {}) {
    const result = await run("npm", args, {
        cwd: scratch,
        env: { PULUMI_BACKEND_URL: "", ...env },
        timeoutMs: 600_000,
    });
    return { code: result.code ?? 1, out: result.out };
}

async function gitStatus(): Promise<string> {
    return (await run("git", ["status", "--porcelain"], { cwd: scratch })).stdout.trim();
}

before(async () => {
    await checkPrerequisites(stackConfig().image as string);
    assert.deepEqual(await leftovers("dev"), [], "a dev stack already runs on this Docker host; npm run down it first");
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "consul-multi-dc-start-"));
    // The project as a clone has it: no dependencies, no git history, no other stack's settings.
    const skipped = (src: string) =>
        path.dirname(src) === projectRoot &&
        (["node_modules", ".git", ".pulumi-local", "test-artifacts"].includes(path.basename(src)) ||
            /^Pulumi\.(?!dev\.yaml$).+\.yaml$/.test(path.basename(src)));
    fs.cpSync(projectRoot, scratch, { recursive: true, filter: (src) => !skipped(src) });
    fs.symlinkSync(path.join(projectRoot, "node_modules"), path.join(scratch, "node_modules"));
    for (const args of [
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=tier", "-c", "user.email=tier@localhost", "commit", "-qm", "scratch copy"],
    ]) {
        assert.equal((await run("git", args, { cwd: scratch })).code, 0, `git ${args.join(" ")}`);
    }
});

after(async () => {
    if (started) {
        await npm(["run", "down"]);
    }
    if (scratch) {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
});

describe("npm start, npm run status, npm run down", () => {
    test("npm start with Docker out of reach fails at once, saying what to do", async () => {
        const result = await npm(["start"], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
        assert.notEqual(result.code, 0);
        assert.match(
            result.out,
            /DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock does not answer 'docker info'\. Start that engine, or unset DOCKER_HOST/,
        );
        assert.match(result.out, /npm start: a prerequisite is missing \(see above\): fix it and run npm start again/);
    });

    test("npm start with dc1's port taken by another program names the port and the key that moves it; nothing starts", async () => {
        const holder = net.createServer();
        await new Promise<void>((resolve) => holder.listen(8500, "127.0.0.1", resolve));
        try {
            const result = await npm(["start"]);
            assert.notEqual(result.code, 0);
            assert.match(
                result.out,
                /port 8500\/tcp on 127\.0\.0\.1, where dc1 publishes its UI and HTTPS API, is taken by another program\. Free it, or give dc1 another port: set datacenters\[0\]\.httpPort in Pulumi\.dev\.yaml/,
            );
        } finally {
            holder.close();
        }
        assert.deepEqual(await leftovers("dev"), [], "npm start made something before refusing");
    });

    test("npm start brings the cluster up and prints the UI URLs, the token command, the exports and what to try next; the work tree stays clean", async () => {
        const result = await npm(["start"]);
        started = true;
        assert.equal(result.code, 0, result.out);
        const block = result.out.slice(result.out.indexOf("Consul is up"));
        assert.match(
            block,
            /^Consul is up: dc1, dc2, each answering on its published API \(pulumi up took \d+\.\d s\)\./,
        );
        assert.match(
            block,
            /UI {4}dc1 {2}https:\/\/127\.0\.0\.1:8500\/ui\/dc1\n {8}dc2 {2}https:\/\/127\.0\.0\.1:8501\/ui\/dc2/,
        );
        assert.match(block, /Log in with the management token: {2}npm run --silent token/);
        const caFile = path.join(scratch, ".pulumi-local", "consul-ca.pem");
        assert.ok(block.includes("export CONSUL_HTTP_ADDR=https://127.0.0.1:8500"), block);
        assert.ok(block.includes(`export CONSUL_CACERT=${caFile}`), block);
        assert.ok(block.includes("export CONSUL_HTTP_TOKEN=$(npm run --silent token)"), block);
        for (const next of [
            "dig @127.0.0.1 -p 8600 web.service.consul",
            "npm run example -- --once",
            "scripts/join-agent.sh",
            "npm run status",
            "npm run down",
        ]) {
            assert.ok(block.includes(next), `the block suggests ${next}`);
        }
        // What the block says works: the token command, the CA file, the address.
        const token = await npm(["run", "--silent", "token"]);
        assert.equal(token.code, 0, token.out);
        const nodes = await api("127.0.0.1:8500", "/v1/catalog/nodes", {
            ca: fs.readFileSync(caFile, "utf8"),
            token: token.out.trim(),
        });
        assert.equal(nodes.status, 200, nodes.body);
        assert.ok(
            fs.statSync(path.join(scratch, ".pulumi-local", "passphrase")).mode % 0o1000 === 0o600,
            "the passphrase file is the user's alone",
        );
        assert.equal(await gitStatus(), "", "npm start changed the work tree (Pulumi.dev.yaml must stay as committed)");
    });

    test("npm run status reports every datacenter healthy", async () => {
        const result = await npm(["run", "status"]);
        assert.equal(result.code, 0, result.out);
        assert.match(
            result.out,
            /status: dc1 {2}healthy {2}agents 4\/4 running and healthy {2}API 127\.0\.0\.1:8500 leader 10\.201\.1\.1\d:8300/,
        );
        assert.match(
            result.out,
            /status: dc2 {2}healthy {2}agents 2\/2 running and healthy {2}API 127\.0\.0\.1:8501 leader 10\.201\.2\.11:8300/,
        );
    });

    test("containers removed by hand: status says so, and npm start refreshes the state and makes them again", async () => {
        assert.equal((await docker(["rm", "-f", "dc2-client1"])).code, 0);
        const status = await npm(["run", "status"]);
        assert.notEqual(status.code, 0);
        assert.match(
            status.out,
            /status: dc2 {2}NOT healthy {2}agents 1\/2 running and healthy \(gone: dc2-client1; npm start refreshes the state and makes them again\)/,
        );
        const result = await npm(["start"]);
        assert.equal(result.code, 0, result.out);
        assert.match(
            result.out,
            /npm start: the stack's state lists containers that no longer exist \(removed by hand\?\): dc2-client1\./,
        );
        assert.match(
            result.out,
            /running `pulumi refresh`, so that the state matches what runs and `pulumi up` makes them again/,
        );
        assert.match(result.out, /Consul is up: dc1, dc2/);
        assert.equal((await npm(["run", "status"])).code, 0, "healthy again");
    });

    test("npm run down removes the cluster, says what it kept, and leaves the work tree clean", async () => {
        const result = await npm(["run", "down"]);
        assert.equal(result.code, 0, result.out);
        started = false;
        assert.match(
            result.out,
            /npm run down: the dev cluster is gone: no container, network or volume of it is left\./,
        );
        assert.match(
            result.out,
            /Kept: the images hashicorp\/consul:1\.22\.7, consul-multi-dc\/demo-web:1\.0, consul-multi-dc\/envoy:1\.36\.2-consul1\.22\.7 /,
        );
        assert.deepEqual(await leftovers("dev"), []);
        assert.equal((await docker(["image", "inspect", "hashicorp/consul:1.22.7"])).code, 0, "the image stays");
        assert.equal(await gitStatus(), "");
    });
});
