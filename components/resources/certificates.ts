// The stack's own certificate authority and the certificates it issues, with @pulumi/tls.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** A certificate and its key, PEM; the key a secret. */
export interface CertificatePem {
    readonly certPem: pulumi.Input<string>;
    readonly privateKeyPem: pulumi.Input<string>;
}

export interface CertificateAuthority {
    readonly certPem: pulumi.Output<string>;
    /** A secret. */
    readonly privateKeyPem: pulumi.Output<string>;
}

export interface IssuedCertificate {
    readonly certPem: pulumi.Output<string>;
    /** A secret. */
    readonly privateKeyPem: pulumi.Output<string>;
}

const validityHours = 5 * 365 * 24;

function privateKey(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const key = new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
    // The provider marks the PEM secret itself; saying so here keeps it secret whatever the provider does.
    return pulumi.secret(key.privateKeyPem);
}

export function certificateAuthority(name: string, opts: pulumi.CustomResourceOptions = {}): CertificateAuthority {
    const privateKeyPem = privateKey(`${name}-key`, opts);
    const cert = new tls.SelfSignedCert(
        name,
        {
            privateKeyPem,
            subject: { commonName: "Consul Agent CA", organization: "consul-multi-dc" },
            isCaCertificate: true,
            validityPeriodHours: validityHours,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        },
        opts,
    );
    return { certPem: cert.certPem, privateKeyPem };
}

/** A key and a certificate signed by the stack's CA, for both TLS server and client use. */
export function issueCertificate(
    name: string,
    ca: CertificatePem,
    subject: { readonly commonName: string; readonly dnsNames: string[]; readonly ipAddresses: string[] },
    opts: pulumi.CustomResourceOptions,
): IssuedCertificate {
    const privateKeyPem = privateKey(`${name}-key`, opts);
    const request = new tls.CertRequest(
        `${name}-csr`,
        {
            privateKeyPem,
            subject: { commonName: subject.commonName, organization: "consul-multi-dc" },
            dnsNames: subject.dnsNames,
            ipAddresses: subject.ipAddresses,
        },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        name,
        {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: ca.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: validityHours,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        },
        opts,
    );
    return { certPem: cert.certPem, privateKeyPem };
}

/**
 * A datacenter's two certificates: its servers' (server.<dc>.consul, which every agent checks) and, when it
 * has clients, its clients' (client.<dc>.consul), which they present for RPC to the servers and on their
 * HTTPS API. Both also name localhost and 127.0.0.1, where Docker publishes the API, and `ipAddresses`.
 *
 * Clients do not take their RPC certificate from the servers (auto_encrypt): those are signed by Consul's
 * Connect CA, which lives in the replicated state, so a snapshot restored from another stack replaces it
 * and the servers then refuse every client that started before the restore. The stack's own CA is in
 * no snapshot.
 */
export function datacenterCertificates(
    name: string,
    datacenter: string,
    on: { readonly withClients: boolean; readonly ipAddresses: readonly string[] },
    ca: CertificatePem,
    opts: pulumi.CustomResourceOptions,
): { server: IssuedCertificate; client?: IssuedCertificate } {
    const subject = (role: string) => ({
        commonName: `${role}.${datacenter}.consul`,
        dnsNames: [`${role}.${datacenter}.consul`, "localhost"],
        ipAddresses: ["127.0.0.1", ...on.ipAddresses],
    });
    return {
        server: issueCertificate(`${name}-server-cert`, ca, subject("server"), opts),
        client: on.withClients ? issueCertificate(`${name}-client-cert`, ca, subject("client"), opts) : undefined,
    };
}
