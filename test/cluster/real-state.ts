// Computed outputs as the real providers make them, for the cluster tier's mocks: real random bytes
// and UUIDs, the real local image ID, and real ECDSA keys and X.509 certificates made with openssl.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ComputeState } from "../support/program";
import { docker } from "./docker";

type Subject = { commonName?: string; organization?: string };

const keyUsage: Record<string, string> = {
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
    digital_signature: "digitalSignature",
    key_encipherment: "keyEncipherment",
};
const extendedKeyUsage: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };

function extensions(uses: string[], isCa: boolean): string {
    const unknown = uses.filter((u) => !keyUsage[u] && !extendedKeyUsage[u]);
    if (unknown.length > 0) {
        throw new Error(`real-state: allowedUses ${unknown.join(", ")} are not translated to openssl`);
    }
    const lines = [`basicConstraints = critical, CA:${isCa ? "TRUE" : "FALSE"}`];
    const ku = uses.filter((u) => keyUsage[u]).map((u) => keyUsage[u]);
    const eku = uses.filter((u) => extendedKeyUsage[u]).map((u) => extendedKeyUsage[u]);
    if (ku.length > 0) lines.push(`keyUsage = critical, ${ku.join(", ")}`);
    if (eku.length > 0) lines.push(`extendedKeyUsage = ${eku.join(", ")}`);
    return `${lines.join("\n")}\n`;
}

const subjectArg = (s: Subject) =>
    `/${[s.commonName && `CN=${s.commonName}`, s.organization && `O=${s.organization}`].filter(Boolean).join("/")}`;

/** Runs openssl in a private temp dir holding `files`; returns the named output file. */
function openssl(files: Record<string, string>, args: string[], output: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-tls-"));
    try {
        for (const [name, content] of Object.entries(files)) {
            fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        }
        execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
        return fs.readFileSync(path.join(dir, output), "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const days = (hours: unknown) => String(Math.max(1, Math.ceil(Number(hours ?? 24) / 24)));

export const realState: ComputeState = async (type, _name, inputs) => {
    switch (type) {
        case "random:index/randomBytes:RandomBytes": {
            const bytes = randomBytes(inputs.length as number);
            return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
        }
        case "random:index/randomUuid:RandomUuid":
            return { result: randomUUID() };
        case "docker:index/remoteImage:RemoteImage": {
            const id = await docker(["image", "inspect", "--format", "{{.Id}}", inputs.name as string]);
            if (id.code !== 0) {
                throw new Error(`image ${inputs.name} is not on this Docker host: run scripts/ensure-consul-image.sh`);
            }
            return { imageId: id.stdout.trim(), repoDigest: "" };
        }
        case "tls:index/privateKey:PrivateKey": {
            if (inputs.algorithm !== "ECDSA" || inputs.ecdsaCurve !== "P256") {
                throw new Error(`real-state: only ECDSA P256 keys are made, not ${inputs.algorithm} ${inputs.ecdsaCurve}`);
            }
            const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
            return {
                privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
                publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
            };
        }
        case "tls:index/selfSignedCert:SelfSignedCert": {
            const certPem = openssl(
                { "key.pem": inputs.privateKeyPem },
                ["req", "-x509", "-new", "-key", "key.pem", "-subj", subjectArg(inputs.subject ?? {}), "-days", days(inputs.validityPeriodHours),
                    "-config", "/dev/null", "-addext", "subjectKeyIdentifier=hash", "-out", "cert.pem",
                    ...extensionArgs(inputs.allowedUses ?? [], inputs.isCaCertificate === true)],
                "cert.pem",
            );
            return { certPem };
        }
        case "tls:index/certRequest:CertRequest": {
            const sans = [...((inputs.dnsNames as string[]) ?? []).map((d) => `DNS:${d}`), ...((inputs.ipAddresses as string[]) ?? []).map((i) => `IP:${i}`)];
            const certRequestPem = openssl(
                { "key.pem": inputs.privateKeyPem },
                ["req", "-new", "-key", "key.pem", "-subj", subjectArg(inputs.subject ?? {}), "-config", "/dev/null",
                    ...(sans.length > 0 ? ["-addext", `subjectAltName=${sans.join(",")}`] : []), "-out", "csr.pem"],
                "csr.pem",
            );
            return { certRequestPem };
        }
        case "tls:index/locallySignedCert:LocallySignedCert": {
            const certPem = openssl(
                {
                    "csr.pem": inputs.certRequestPem,
                    "ca.pem": inputs.caCertPem,
                    "ca-key.pem": inputs.caPrivateKeyPem,
                    "ext.cnf": extensions(inputs.allowedUses ?? [], false),
                },
                ["x509", "-req", "-in", "csr.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                    "-days", days(inputs.validityPeriodHours), "-copy_extensions", "copyall", "-extfile", "ext.cnf", "-out", "cert.pem"],
                "cert.pem",
            );
            return { certPem };
        }
        default:
            return {};
    }
};

/** `openssl req -x509` takes extensions one -addext at a time. */
function extensionArgs(uses: string[], isCa: boolean): string[] {
    return extensions(uses, isCa)
        .trim()
        .split("\n")
        .flatMap((line) => ["-addext", line.replace(/\s*=\s*/, "=")]);
}
