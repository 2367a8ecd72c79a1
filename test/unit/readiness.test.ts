// No `--parallel` trap: no container waits inside its own create, and each readiness step that waits starts
// only after everything its containers need has been created, so `pulumi up` cannot hold every engine
// operation on steps whose prerequisites are still queued, whatever --parallel is. Checked on the graph of
// each stack shape the config allows: the dev stack, three datacenters, a peering datacenter, across hosts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DatacenterSettings } from "../../components/model/settings";
import { acrossHostsDatacenters, fakeCertDir } from "../support/across-hosts";
import { labelsOf, ofType, T } from "../support/declared";
import { fakeState } from "../support/fake-state";
import {
    type DeclaredResource,
    meshlessConfig,
    meshlessDatacenters,
    type ProgramRun,
    reveal,
    runProgram,
    stackConfig,
} from "../support/program";

const dev = () => stackConfig().datacenters as DatacenterSettings[];
const dc3 = { name: "dc3", servers: 3, clients: 1, subnet: "10.201.3.0/24", httpPort: 8502, dnsPort: 8602 };
// Each shape's stack config: the dev stack's, with the service mesh but where the mesh cannot be (peering).
const shapes: Record<string, () => Record<string, unknown>> = {
    "the dev stack": () => stackConfig(),
    "three datacenters": () => stackConfig({ datacenters: [...dev(), dc3] }),
    "a peering datacenter": () =>
        meshlessConfig({ datacenters: [...meshlessDatacenters(), { ...dc3, servers: 1, federation: "peering" }] }),
    "across hosts": () => stackConfig({ datacenters: acrossHostsDatacenters(fakeCertDir()) }),
};

/** Every resource `r` waits for, directly or through others. */
function closure(run: ProgramRun, r: DeclaredResource): Set<string> {
    const byUrn = new Map(run.resources.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const visit = (urn: string) => {
        if (!seen.has(urn)) {
            seen.add(urn);
            byUrn.get(urn)?.dependencies.forEach(visit);
        }
    };
    r.dependencies.forEach(visit);
    return seen;
}

for (const [shape, configOf] of Object.entries(shapes)) {
    describe(`readiness, ${shape}`, () => {
        const config = configOf();
        const datacenters = () => config.datacenters as DatacenterSettings[];
        let run: ProgramRun;
        const containers = () => ofType(run, T.container);
        const ofDatacenter = (dc: string, role: string) =>
            containers().filter((c) => labelsOf(c)["consul.datacenter"] === dc && labelsOf(c)["consul.role"] === role);
        const step = (dc: string) => run.resources.find((r) => r.name === `consul-${dc}-healthy`) as DeclaredResource;

        test("the program runs", async () => {
            run = await runProgram({ computeState: fakeState, config });
        });

        test("no container waits inside its own create", () => {
            assert.ok(containers().length > 0);
            for (const c of containers()) {
                assert.equal(c.inputs.wait, undefined, String(c.inputs.name));
            }
        });

        test("each datacenter's step waits for every agent, demo instance and Envoy proxy of it, and for its acl-init where it holds its cluster's ACLs", () => {
            for (const dc of datacenters()) {
                const watched = (reveal(step(dc.name).inputs.containers) as { name: string }[])
                    .map((c) => c.name)
                    .sort();
                const expected = [
                    ...ofDatacenter(dc.name, "server"),
                    ...ofDatacenter(dc.name, "client"),
                    ...ofDatacenter(dc.name, "acl-init"),
                    ...ofDatacenter(dc.name, "service"),
                    ...ofDatacenter(dc.name, "sidecar"),
                    ...ofDatacenter(dc.name, "mesh-gateway"),
                ]
                    .map((c) => String(c.inputs.name))
                    .sort();
                assert.deepEqual(watched, expected, dc.name);
                assert.ok(expected.length >= dc.servers + dc.clients, dc.name);
                if (config.mesh === true) {
                    assert.ok(
                        watched.includes(`${dc.name}-mesh-gateway`),
                        `${dc.name}'s step waits for its mesh gateway`,
                    );
                }
            }
        });

        test("a step starts only once every container its agents need exists: its own, its cluster's servers and acl-init", () => {
            for (const dc of datacenters()) {
                const holder = dc.federation === "peering" ? dc.name : datacenters()[0].name;
                const needed = [
                    ...ofDatacenter(dc.name, "server"),
                    ...ofDatacenter(dc.name, "client"),
                    ...ofDatacenter(holder, "server"),
                    ...ofDatacenter(holder, "acl-init"),
                ];
                const before = closure(run, step(dc.name));
                for (const c of needed) {
                    assert.ok(before.has(c.urn), `${dc.name}'s step starts after ${c.inputs.name} is created`);
                }
            }
        });

        test("in a new stack no server's own step waits, and no container waits for a step", () => {
            const steps = run.resources.filter((r) => r.name.endsWith("-healthy"));
            for (const s of steps.filter((s) => /-server\d+-healthy$/.test(s.name))) {
                assert.equal(reveal(s.inputs.wait), false, s.name);
            }
            for (const c of containers()) {
                assert.deepEqual(
                    c.dependencies.filter((d) => steps.some((s) => s.urn === d)),
                    [],
                    String(c.inputs.name),
                );
            }
        });

        test("the dynamic resources that call a datacenter's API start after its step and its cluster's", () => {
            for (const r of run.resources.filter((r) => /-(failover-query|exported-services|peering)$/.test(r.name))) {
                const dc = /^consul-(.+)-(failover-query|exported-services|peering)$/.exec(r.name)?.[1] as string;
                const holder =
                    datacenters().find((d) => d.name === dc)?.federation === "peering" ? dc : datacenters()[0].name;
                assert.ok(r.dependencies.includes(step(dc).urn), `${r.name} after ${dc}'s step`);
                assert.ok(r.dependencies.includes(step(holder).urn), `${r.name} after ${holder}'s step`);
            }
            // The mesh's config entries are written through the primary's API.
            const entries = run.resources.filter((r) =>
                /^consul-(proxy-defaults|service-resolver|service-intentions)-/.test(r.name),
            );
            assert.equal(entries.length > 0, config.mesh === true, "config entries exactly when the mesh is on");
            for (const r of entries) {
                assert.ok(
                    r.dependencies.includes(step(datacenters()[0].name).urn),
                    `${r.name} after the primary's step`,
                );
            }
        });
    });
}
