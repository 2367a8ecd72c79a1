// sitePorts: the host ports each datacenter opens to the other sites, from the model. On one Docker host none;
// across hosts each server's RPC, WAN Serf (tcp and udp), the primary's HTTPS API, and each mesh gateway's port.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { compileStack } from "../../components/model/compile";
import { dockerCertFileNames } from "../../components/model/docker-hosts";
import { sitePorts } from "../../components/model/site-ports";
import { acrossHostsDatacenters } from "../support/across-hosts";
import { fakeState } from "../support/fake-state";
import { devModel, devSettings, meshlessSettings } from "../support/model";
import { outputValue, runProgram, stackConfig } from "../support/program";

const certPath = "/certs";
const acrossHosts = (settings = devSettings()) =>
    compileStack({
        ...settings,
        datacenters: acrossHostsDatacenters(certPath, settings.datacenters as readonly object[]),
        dockerCertFiles: { [certPath]: [...dockerCertFileNames] },
    });

describe("sitePorts", () => {
    test("on one Docker host no datacenter opens a port to another site", () => {
        assert.deepEqual(sitePorts(devModel()), { dc1: [], dc2: [] });
    });

    test("across hosts: each server's RPC and WAN Serf, the primary's HTTPS API, and the mesh gateway", () => {
        assert.deepEqual(sitePorts(acrossHosts()), {
            dc1: [
                "8300/tcp",
                "8302/tcp",
                "8302/udp",
                "8303/tcp",
                "8310/tcp",
                "8312/tcp",
                "8312/udp",
                "8313/tcp",
                "8320/tcp",
                "8322/tcp",
                "8322/udp",
                "8323/tcp",
                "8443/tcp",
            ],
            dc2: ["8300/tcp", "8302/tcp", "8302/udp", "8443/tcp"],
            dc3: ["8300/tcp", "8302/tcp", "8302/udp", "8443/tcp"],
        });
    });

    test("without the mesh, no gateway port", () => {
        assert.deepEqual(sitePorts(acrossHosts(meshlessSettings())).dc2, ["8300/tcp", "8302/tcp", "8302/udp"]);
    });

    test("is the stack output sitePorts, not a secret", async () => {
        const run = await runProgram({ computeState: fakeState, config: stackConfig() });
        assert.deepEqual(await outputValue(run.outputs.sitePorts), { dc1: [], dc2: [] });
        assert.equal(await pulumi.isSecret(run.outputs.sitePorts), false);
    });
});

/** The rows of the docs' "Ports to open between hosts" table for other sites: base port, step, protocols. */
function siteRows(): { cell: string; base: number; step: number; protos: string[] }[] {
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "across-machines.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Ports to open between hosts"));
    return section
        .split("\n")
        .map((line) => line.split("|").map((c) => c.trim()))
        .filter((cells) => /datacenters'/.test(cells[3] ?? ""))
        .map((cells) => {
            const m = /^(\d+) \+ (10k|n)\b/.exec(cells[1]);
            assert.ok(m, `a row of the ports table whose first cell is not "PORT + 10k" or "PORT + n": ${cells[1]}`);
            return {
                cell: cells[1],
                base: Number(m[1]),
                step: m[2] === "10k" ? 10 : 1,
                protos: cells[2].split(" and "),
            };
        });
}

test("docs/across-machines.md's ports table explains every port of sitePorts, and each of its rows for other sites is used", () => {
    const rows = siteRows();
    const dcs = acrossHostsDatacenters(certPath);
    // A cluster of its own beside dc3, peering with dc1: the primary's servers then publish gRPC TLS too.
    const peer = {
        ...dcs[2],
        name: "dc4",
        subnet: "10.201.4.0/24",
        federation: "peering" as const,
        httpPort: 8501,
        dnsPort: 8601,
    };
    const model = compileStack({
        ...devSettings(),
        datacenters: [...dcs, peer],
        dockerCertFiles: { [certPath]: [...dockerCertFileNames] },
    });
    const used = new Set<string>();
    for (const port of Object.values(sitePorts(model)).flat()) {
        const [n, proto] = port.split("/");
        const row = rows.find(
            (r) =>
                r.protos.includes(proto) &&
                Number(n) >= r.base &&
                (Number(n) - r.base) % r.step === 0 &&
                (Number(n) - r.base) / r.step < 10,
        );
        assert.ok(row, `${port} is in no row of the ports table`);
        used.add(row.cell);
    }
    assert.deepEqual(
        rows.map((r) => r.cell).filter((c) => !used.has(c)),
        [],
        "rows of the ports table that no port of sitePorts needs",
    );
});
