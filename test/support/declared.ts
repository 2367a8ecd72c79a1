// Finding what the mocked program declared (runProgram): resources by type and name, the files a
// container uploads, its labels, and the engine-level waits between containers. For the unit tier.
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileBundlePath } from "../../components/render/file-bundle";
import { fakeGossipKey, fakePrivateKeyPem, fakeSecretUuid } from "./fake-state";
import { type DeclaredResource, type ProgramRun, reveal, unwrapSecret } from "./program";

/** Resource types, by what the tests call them. */
export const T = {
    federation: "consul-multi-dc:index:ConsulFederation",
    component: "consul-multi-dc:index:ConsulDatacenter",
    aclBootstrap: "consul-multi-dc:index:AclBootstrap",
    uuid: "random:index/randomUuid:RandomUuid",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    csr: "tls:index/certRequest:CertRequest",
    signed: "tls:index/locallySignedCert:LocallySignedCert",
    container: "docker:index/container:Container",
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    image: "docker:index/remoteImage:RemoteImage",
    password: "random:index/randomPassword:RandomPassword",
};

export const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);

/** The resource of `type` whose `name` input is `name`; fails when there is none. */
export const named = (run: ProgramRun, type: string, name: string) => {
    const found = run.resources.find((r) => r.type === type && r.inputs.name === name);
    assert.ok(found, `no ${type} named ${name}`);
    return found;
};

export type Upload = { file: string; content: unknown };

/** The files a bundle (components/render/file-bundle.ts) writes, each with its content. */
export function bundledFiles(script: string): Upload[] {
    const unquote = (s: string) => s.replace(/'\\''/g, "'");
    return [...script.matchAll(/^printf '%s' '((?:[^']|'\\'')*)' > '([^']+)'$/gm)].map((m) => ({
        file: m[2],
        content: unquote(m[1]),
    }));
}

// Pulumi marks a whole input property secret when any part of it is, so `uploads` arrives wrapped. An
// agent's one upload is the bundle of its files: these are the files it writes.
export const uploads = (c: DeclaredResource): Upload[] => {
    const raw = unwrapSecret(c.inputs.uploads).value as Upload[];
    return raw.length === 1 && raw[0].file === fileBundlePath
        ? bundledFiles(unwrapSecret(raw[0].content).value as string)
        : raw;
};

/** A container's upload by its path relative to /consul/config; fails when there is none. */
export const upload = (c: DeclaredResource, file: string) => {
    const u = uploads(c).find((x) => path.posix.join("/consul/config", file) === x.file);
    assert.ok(u, `${c.inputs.name} has no upload ${file}`);
    return u;
};

export const labelsOf = (r: DeclaredResource) =>
    Object.fromEntries((r.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

/** The Consul agents' containers, servers and clients. */
export const agents = (run: ProgramRun) =>
    ofType(run, T.container).filter((c) => ["server", "client"].includes(labelsOf(c)["consul.role"]));

/** The demo services' instances. */
export const instances = (run: ProgramRun) =>
    ofType(run, T.container).filter((c) => labelsOf(c)["consul.role"] === "service");

/** For each container that waits on others at the engine level (dependsOn or data), the names of those. */
export const containerWaits = (run: ProgramRun) => {
    const containers = ofType(run, T.container);
    // A container waits on another through that one's readiness step (agents-healthy.ts), when the step waits.
    const steps = run.resources.filter((r) => r.name.endsWith("-healthy") && reveal(r.inputs.wait) === true);
    const waitedOn = (c: DeclaredResource) =>
        steps
            .filter((s) => c.dependencies.includes(s.urn))
            .flatMap((s) => containers.filter((o) => s.dependencies.includes(o.urn)));
    return Object.fromEntries(
        containers
            .map((c) => [c.inputs.name, waitedOn(c).map((o) => o.inputs.name)] as const)
            .filter(([, deps]) => deps.length > 0),
    );
};

/** Every secret the stack makes: the gossip key, the token secret IDs and the private keys. */
export const secretValues = (run: ProgramRun) => [
    fakeGossipKey,
    ...ofType(run, T.password)
        .filter((r) => r.name !== "consul-gossip-key")
        .map((r) => fakeSecretUuid(r.name)),
    ...ofType(run, T.privateKey).map((r) => fakePrivateKeyPem(r.name)),
];
