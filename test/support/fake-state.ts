// Computed values for the unit tier: fixed and recognisable, so assertions can name them and search
// every output and upload for them.
import { createHash } from "node:crypto";
import { gossipKeyFromSeed, uuidFromSeed } from "../../components/resources/secret-random";
import { type ComputeState, type ProgramRun, runProgram } from "./program";

/** The fake RandomPassword result for a resource name: every stack secret is derived from one. */
const fakeSeed = (name: string) => `fake-seed-${name}`;
export const fakeGossipKey = gossipKeyFromSeed(fakeSeed("consul-gossip-key"));
/** The token secret ID the stack derives from the RandomPassword of that name. */
export const fakeSecretUuid = (name: string) => uuidFromSeed(fakeSeed(name));

/** A stable UUID-shaped value per resource name. */
export function fakeUuid(name: string): string {
    const h = createHash("sha256").update(name).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const fakePrivateKeyPem = (name: string) =>
    `-----BEGIN PRIVATE KEY-----\nfake-key-${name}\n-----END PRIVATE KEY-----\n`;
export const fakeCertPem = (name: string) =>
    `-----BEGIN CERTIFICATE-----\nfake-cert-${name}\n-----END CERTIFICATE-----\n`;

export const fakeState: ComputeState = (type, name) => {
    switch (type) {
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${name}` };
        case "random:index/randomPassword:RandomPassword":
            return { result: fakeSeed(name) };
        case "random:index/randomUuid:RandomUuid":
            return { result: fakeUuid(name) };
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: fakePrivateKeyPem(name), publicKeyPem: `public-${name}` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: fakeCertPem(name) };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: `csr-${name}` };
        default:
            return {};
    }
};

let devStack: Promise<ProgramRun> | undefined;
/**
 * The dev stack under mocks with the fake state, run once per process: the default-stack files share it
 * (a run's resources and outputs are settled values, which later runs do not touch).
 */
export function devStackRun(): Promise<ProgramRun> {
    devStack ??= runProgram({ computeState: fakeState });
    return devStack;
}
