// sitePorts: the host ports each datacenter opens to the other sites, from the model. On one Docker host none;
// across hosts each server's RPC, WAN Serf (tcp and udp), the primary's HTTPS API, and each mesh gateway's port.
import assert from "node:assert/strict";
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
