// Which Docker host each datacenter runs on, and the ports its servers publish there when the
// datacenters span several hosts. Pure: the caller lists the files in each dockerCertPath.
import { isIpv4Address, isStringList, parseWith, show } from "./describe";
import { agentName } from "./names";

/** The files a tcp:// host's dockerCertPath must hold, as Docker's DOCKER_CERT_PATH does. */
export const dockerCertFileNames = ["ca.pem", "cert.pem", "key.pem"] as const;

export interface DockerHostModel {
    /** The Docker endpoint; undefined means the local engine (DOCKER_HOST or the default socket). */
    readonly endpoint?: string;
    /** tcp:// only: the directory with ca.pem, cert.pem and key.pem. */
    readonly certPath?: string;
    /** ssh:// only. */
    readonly sshOpts: readonly string[];
    /** Where other datacenters and the user reach this host; undefined when nothing needs it. */
    readonly address?: string;
}

/** Ports a server publishes on its host's address when datacenters span hosts (see serverHostPorts). */
export interface ServerHostPorts {
    /** Server RPC: published with the same number inside and out, since Consul gossips the port it binds. */
    readonly server: number;
    /** WAN Serf, tcp and udp; the same number inside and out, for the same reason. */
    readonly serfWan: number;
    /**
     * Primary servers only: host port of their HTTPS API (8501 inside), where a new secondary server checks its
     * replication token.
     */
    readonly api?: number;
    /**
     * Primary servers of a stack with peering datacenters only: host port of gRPC TLS (8503 inside), where peers
     * dial.
     */
    readonly grpcTls?: number;
}

/**
 * What a datacenter's `dockerHost` says of its host, as written: datacenters with the same one share a Docker
 * engine.
 */
type Endpoint = { readonly endpoint?: unknown };
const hostKey = (dc: Endpoint): unknown => dc.endpoint ?? "";

/**
 * The `slot`-th server on a host (0-based, counting the servers of the host's datacenters in config
 * order) publishes 8300+10·slot (RPC), 8302+10·slot (WAN Serf) and, in the primary, 8303+10·slot (HTTPS)
 * and, when other clusters peer with it, 8304+10·slot (gRPC TLS). The first server on each host keeps
 * Consul's own numbers for RPC and Serf.
 */
function serverHostPorts(slot: number, primary: boolean, peered: boolean): ServerHostPorts {
    const base = 8300 + 10 * slot;
    return {
        server: base,
        serfWan: base + 2,
        ...(primary ? { api: base + 3, ...(peered ? { grpcTls: base + 4 } : {}) } : {}),
    };
}

/**
 * Across hosts, each datacenter's servers' host ports (the first datacenter is the primary): slots run on
 * across a host's servers in config order. compile.ts lays the servers out with it, and the port checks claim them.
 */
export function serverHostPortsInOrder(
    datacenters: readonly (Endpoint & { readonly servers: number })[],
    peered: boolean,
): ServerHostPorts[][] {
    const slots = new Map<unknown, number>();
    return datacenters.map((dc, i) =>
        Array.from({ length: dc.servers }, () => {
            const slot = slots.get(hostKey(dc)) ?? 0;
            slots.set(hostKey(dc), slot + 1);
            return serverHostPorts(slot, i === 0, peered);
        }),
    );
}

/**
 * Across hosts, each datacenter's mesh gateway host port: 8443 for the first datacenter on a host, 8444 for the
 * next, in config order.
 */
export function gatewayHostPortsInOrder(datacenters: readonly Endpoint[]): number[] {
    const slots = new Map<unknown, number>();
    return datacenters.map((dc) => {
        const slot = slots.get(hostKey(dc)) ?? 0;
        slots.set(hostKey(dc), slot + 1);
        return 8443 + slot;
    });
}

/** True when the datacenters do not all share one Docker host: the WAN then runs over the hosts' addresses. */
export function spansHosts(datacenters: readonly Endpoint[]): boolean {
    return new Set(datacenters.map(hostKey)).size > 1;
}

const endpointPatterns = {
    unix: /^unix:\/\/\/\S+$/,
    tcp: /^tcp:\/\/([A-Za-z0-9.-]+):(\d{1,5})$/,
    ssh: /^ssh:\/\/[A-Za-z0-9._-]+@([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/,
};
const schemes = ["unix", "tcp", "ssh"] as const;

/** unix, tcp or ssh, or undefined when `endpoint` is none of Docker's endpoint forms. */
function scheme(endpoint: string): (typeof schemes)[number] | undefined {
    const found = schemes.find((s) => endpointPatterns[s].test(endpoint));
    const port = found && found !== "unix" ? endpointPatterns[found].exec(endpoint)?.[2] : undefined;
    return port !== undefined && (Number(port) < 1 || Number(port) > 65535) ? undefined : found;
}

const dockerEndpoint = (value: unknown): value is string => typeof value === "string" && scheme(value) !== undefined;
/** An address a host is reached on: any IPv4 address but 0.0.0.0. */
export const isHostAddress = (value: unknown): value is string => isIpv4Address(value) && value !== "0.0.0.0";

/** dockerCertPath's problems: it goes with a tcp:// endpoint, always, and holds the client's files. */
function checkCertPath(
    dc: Readonly<Record<string, unknown>>,
    key: string,
    kind: (typeof schemes)[number] | undefined,
    certFiles: readonly string[] | undefined,
    problems: string[],
): void {
    const certPath = dc.dockerCertPath;
    if (certPath !== undefined && (typeof certPath !== "string" || certPath === "")) {
        problems.push(
            `${key}.dockerCertPath must be the path of a directory holding ${dockerCertFileNames.join(", ")}, ` +
                `not ${show(certPath)}`,
        );
    } else if (kind === "tcp" && certPath === undefined) {
        problems.push(
            `${key}.dockerCertPath is required with a tcp:// dockerHost: ` +
                "a Docker socket on the network without TLS client " +
                "certificates is root on that host for anyone who reaches it. " +
                `Point it at a directory holding ${dockerCertFileNames.join(", ")} ` +
                "and start that dockerd with --tlsverify (README: Across machines).",
        );
    } else if (certPath !== undefined && kind !== "tcp") {
        problems.push(
            `${key}.dockerCertPath is only for a tcp:// dockerHost, not ${show(dc.dockerHost ?? "the local engine")}`,
        );
    } else if (certPath !== undefined) {
        const missing = dockerCertFileNames.filter((f) => !certFiles?.includes(f));
        if (missing.length > 0) {
            problems.push(
                `${key}.dockerCertPath: ${certPath} must hold ${dockerCertFileNames.join(", ")}; ` +
                    `${missing.join(", ")} missing`,
            );
        }
    }
}

/** dockerSshOpts, which only an ssh:// endpoint takes; [] when unset, undefined when it does not parse. */
function parseSshOpts(
    dc: Readonly<Record<string, unknown>>,
    key: string,
    kind: (typeof schemes)[number] | undefined,
    problems: string[],
): readonly string[] | undefined {
    if (dc.dockerSshOpts === undefined) {
        return [];
    }
    const sshOpts = parseWith(
        dc.dockerSshOpts,
        isStringList,
        `${key}.dockerSshOpts must be a list of ssh options such as ["-o", "StrictHostKeyChecking=yes"], ` +
            `not ${show(dc.dockerSshOpts)}`,
        problems,
    );
    if (sshOpts !== undefined && kind !== "ssh") {
        problems.push(
            `${key}.dockerSshOpts is only for an ssh:// dockerHost, not ${show(dc.dockerHost ?? "the local engine")}`,
        );
    }
    return sshOpts;
}

/** hostAddress: required across hosts and with a remote endpoint, and never a loopback address across hosts. */
function parseHostAddress(
    dc: Readonly<Record<string, unknown>>,
    key: string,
    kind: (typeof schemes)[number] | undefined,
    acrossHosts: boolean,
    problems: string[],
): string | undefined {
    const address =
        dc.hostAddress === undefined
            ? undefined
            : parseWith(
                  dc.hostAddress,
                  isHostAddress,
                  `${key}.hostAddress must be the IPv4 address other datacenters and you reach this host on, ` +
                      `such as 192.168.1.20, not ${show(dc.hostAddress)}`,
                  problems,
              );
    if (address !== undefined && acrossHosts && address.startsWith("127.")) {
        problems.push(
            `${key}.hostAddress is ${address}, a loopback address: ` +
                `the other Docker hosts cannot reach ${dc.name}'s servers there`,
        );
    } else if (dc.hostAddress === undefined && acrossHosts) {
        problems.push(
            `${key}.hostAddress is required when the datacenters run on more than one Docker host: ` +
                "the other datacenters' servers " +
                `reach ${show(dc.name)}'s servers on that address`,
        );
    } else if (dc.hostAddress === undefined && (kind === "tcp" || kind === "ssh")) {
        problems.push(
            `${key}.hostAddress is required with a ${kind}:// dockerHost: ` +
                `${show(dc.name)}'s UI, API and DNS are published on it`,
        );
    }
    return address;
}

/**
 * The host keys of datacenter `key` (an entry of `datacenters` as written), or undefined with every
 * problem among `problems`. `certFiles`: what its dockerCertPath holds.
 */
export function parseDockerHost(
    dc: Readonly<Record<string, unknown>>,
    key: string,
    certFiles: readonly string[] | undefined,
    acrossHosts: boolean,
    problems: string[],
): DockerHostModel | undefined {
    const before = problems.length;
    const endpoint =
        dc.dockerHost === undefined
            ? undefined
            : parseWith(
                  dc.dockerHost,
                  dockerEndpoint,
                  `${key}.dockerHost must be a Docker endpoint: ` +
                      "unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST[:PORT], " +
                      `not ${show(dc.dockerHost)} ` +
                      "(leave it unset for the local engine)",
                  problems,
              );
    const kind = endpoint === undefined ? undefined : scheme(endpoint);
    checkCertPath(dc, key, kind, certFiles, problems);
    const sshOpts = parseSshOpts(dc, key, kind, problems);
    const address = parseHostAddress(dc, key, kind, acrossHosts, problems);
    if (problems.length > before || sshOpts === undefined) {
        return undefined;
    }
    return {
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(typeof dc.dockerCertPath === "string" ? { certPath: dc.dockerCertPath } : {}),
        sshOpts,
        ...(address !== undefined ? { address } : {}),
    };
}

/** What the checks across datacenters know of one datacenter: each value once it parsed, undefined until then. */
export interface HostedDatacenter extends Endpoint {
    readonly name?: string;
    readonly servers?: number;
    readonly httpPort?: number;
    readonly dnsPort?: number;
    readonly hostAddress?: string;
    /** "peering" datacenters stay outside the mesh: no gateway. */
    readonly federation?: string;
    /** Its demo services that publish a port: each instance publishes the next one. */
    readonly services?: readonly { readonly publishPort?: number; readonly instances: number }[];
}

/** One host has one address, and each host its own; a port is published once per host. */
export function hostProblems(
    dcs: readonly HostedDatacenter[],
    namePrefix: string,
    peered: boolean,
    gateways: boolean,
): string[] {
    const problems: string[] = [];
    const addressOfHost = new Map<unknown, { address: string; key: string }>();
    const hostOfAddress = new Map<string, { host: unknown; key: string }>();
    dcs.forEach((dc, i) => {
        if (dc.hostAddress === undefined) {
            return;
        }
        const key = `datacenters[${i}].hostAddress`;
        const same = addressOfHost.get(hostKey(dc));
        if (same && same.address !== dc.hostAddress) {
            problems.push(
                `${key} is ${dc.hostAddress}, but ${same.key} on the same dockerHost says ${same.address}; ` +
                    "one host has one address here",
            );
        }
        const other = hostOfAddress.get(dc.hostAddress);
        if (other && other.host !== hostKey(dc)) {
            problems.push(
                `${key} is ${dc.hostAddress}, which ${other.key} gives for another dockerHost; ` +
                    "each Docker host needs its own address",
            );
        }
        addressOfHost.set(hostKey(dc), same ?? { address: dc.hostAddress, key });
        hostOfAddress.set(dc.hostAddress, other ?? { host: hostKey(dc), key });
    });
    return [...problems, ...hostPortProblems(dcs, namePrefix, peered, gateways)];
}

/**
 * Each datacenter's httpPort, dnsPort and services' publishPorts and, across hosts, its servers' and mesh gateway's
 * ports. A port that did not parse is left out.
 */
function hostPortProblems(
    dcs: readonly HostedDatacenter[],
    namePrefix: string,
    peered: boolean,
    gateways: boolean,
): string[] {
    const problems: string[] = [];
    const seen = new Map<unknown, Map<number, string>>();
    const serversNote =
        "Servers across hosts publish ports from 8300 up, 10 apart per server on a host; " +
        "move the other port out of their way";
    const claim = (dc: HostedDatacenter, port: number, key: string, owner: string, note = serversNote) => {
        const onHost = seen.get(hostKey(dc)) ?? new Map<number, string>();
        seen.set(hostKey(dc), onHost);
        const other = onHost.get(port);
        if (!other) {
            onHost.set(port, owner);
        } else if (owner === key) {
            problems.push(
                `${key} is ${port}, which ${other} already uses; each host port must be unique on a Docker host`,
            );
        } else {
            problems.push(
                `${key}: ${owner} would publish port ${port}, which ${other} already uses on the same Docker host. ` +
                    note,
            );
        }
    };
    dcs.forEach((dc, i) => {
        for (const field of ["httpPort", "dnsPort"] as const) {
            const port = dc[field];
            if (port !== undefined) {
                claim(dc, port, `datacenters[${i}].${field}`, `datacenters[${i}].${field}`);
            }
        }
        (dc.services ?? []).forEach((s, j) => {
            const key = `datacenters[${i}].services[${j}].publishPort`;
            for (let n = 0; s.publishPort !== undefined && n < s.instances; n++) {
                claim(
                    dc,
                    s.publishPort + n,
                    key,
                    n === 0 ? key : `its instance ${n + 1}`,
                    "Each instance of a service publishes the port after the one before",
                );
            }
        });
    });
    if (spansHosts(dcs)) {
        const ports = serverHostPortsInOrder(
            dcs.map((dc) => ({ endpoint: dc.endpoint, servers: dc.servers ?? 0 })),
            peered,
        );
        dcs.forEach((dc, i) =>
            ports[i].forEach((p, s) => {
                for (const port of [
                    p.server,
                    p.serfWan,
                    ...(p.api ? [p.api] : []),
                    ...(p.grpcTls ? [p.grpcTls] : []),
                ]) {
                    claim(
                        dc,
                        port,
                        `datacenters[${i}].servers`,
                        agentName(namePrefix, dc.name ?? `datacenters[${i}]`, "server", s + 1),
                    );
                }
            }),
        );
        if (gateways) {
            const ports = gatewayHostPortsInOrder(dcs);
            dcs.forEach((dc, i) => {
                // A peering datacenter stays outside the mesh: it has no gateway.
                if (dc.federation !== "peering") {
                    claim(
                        dc,
                        ports[i],
                        "meshGateways",
                        `${namePrefix}${dc.name ?? `datacenters[${i}]`}'s mesh gateway`,
                        "Mesh gateways across hosts publish 8443 up, one port per datacenter on a host",
                    );
                }
            });
        }
    }
    return problems;
}
