// Which Docker host each datacenter runs on, and the ports its servers publish there when the
// datacenters span several hosts. Pure: the caller lists the files in each dockerCertPath.
import { isIPv4 } from "node:net";
import { isWholeNumberIn, show } from "./describe";
import { DatacenterSettings, StackSettings } from "./settings";

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
    /** Primary servers only: host port of their HTTPS API (8501 inside), where a new secondary server checks its replication token. */
    readonly api?: number;
    /** Primary servers of a stack with peering datacenters only: host port of gRPC TLS (8503 inside), where peers dial. */
    readonly grpcTls?: number;
}

/** The host's identity: datacenters with the same dockerHost share a Docker engine. */
export const hostKey = (dc: Pick<DatacenterSettings, "dockerHost">): string => dc.dockerHost ?? "";

/**
 * The `slot`-th server on a host (0-based, counting the servers of the host's datacenters in config
 * order) publishes 8300+10·slot (RPC), 8302+10·slot (WAN Serf) and, in the primary, 8303+10·slot (HTTPS)
 * and, when other clusters peer with it, 8304+10·slot (gRPC TLS). The first server on each host keeps
 * Consul's own numbers for RPC and Serf.
 */
export function serverHostPorts(slot: number, primary: boolean, peered: boolean): ServerHostPorts {
    const base = 8300 + 10 * slot;
    return { server: base, serfWan: base + 2, ...(primary ? { api: base + 3, ...(peered ? { grpcTls: base + 4 } : {}) } : {}) };
}

/** Some datacenter peers with the first, which then takes peering connections on its servers' gRPC TLS port. */
export const hasPeering = (datacenters: readonly Pick<DatacenterSettings, "federation">[]): boolean =>
    datacenters.some((dc) => dc.federation === "peering");

/** True when the datacenters do not all share one Docker host: the WAN then runs over the hosts' addresses. */
export function spansHosts(datacenters: readonly Pick<DatacenterSettings, "dockerHost">[]): boolean {
    return new Set(datacenters.map(hostKey)).size > 1;
}

const endpointPatterns = {
    unix: /^unix:\/\/\/\S+$/,
    tcp: /^tcp:\/\/([A-Za-z0-9.-]+):(\d{1,5})$/,
    ssh: /^ssh:\/\/[A-Za-z0-9._-]+@([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/,
};

/** unix, tcp or ssh, or undefined when `endpoint` is none of Docker's endpoint forms. */
function scheme(endpoint: string): keyof typeof endpointPatterns | undefined {
    const found = (Object.keys(endpointPatterns) as (keyof typeof endpointPatterns)[]).find((s) => endpointPatterns[s].test(endpoint));
    const port = found && found !== "unix" ? endpointPatterns[found].exec(endpoint)?.[2] : undefined;
    return port !== undefined && (Number(port) < 1 || Number(port) > 65535) ? undefined : found;
}

/** The host keys of datacenter `key` on their own. `certFiles`: what its dockerCertPath holds. */
function datacenterHostProblems(dc: DatacenterSettings, key: string, certFiles: readonly string[] | undefined, acrossHosts: boolean): string[] {
    const problems: string[] = [];
    const kind = dc.dockerHost === undefined ? undefined : typeof dc.dockerHost === "string" ? scheme(dc.dockerHost) : undefined;
    if (dc.dockerHost !== undefined && !kind) {
        problems.push(
            `${key}.dockerHost must be a Docker endpoint: unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST[:PORT], not ${show(dc.dockerHost)} ` +
                "(leave it unset for the local engine)",
        );
    }
    if (dc.dockerCertPath !== undefined && (typeof dc.dockerCertPath !== "string" || dc.dockerCertPath === "")) {
        problems.push(`${key}.dockerCertPath must be the path of a directory holding ${dockerCertFileNames.join(", ")}, not ${show(dc.dockerCertPath)}`);
    } else if (kind === "tcp" && dc.dockerCertPath === undefined) {
        problems.push(
            `${key}.dockerCertPath is required with a tcp:// dockerHost: a Docker socket on the network without TLS client ` +
                `certificates is root on that host for anyone who reaches it. Point it at a directory holding ${dockerCertFileNames.join(", ")} ` +
                "and start that dockerd with --tlsverify (README: Across machines).",
        );
    } else if (dc.dockerCertPath !== undefined && kind !== "tcp") {
        problems.push(`${key}.dockerCertPath is only for a tcp:// dockerHost, not ${show(dc.dockerHost ?? "the local engine")}`);
    } else if (dc.dockerCertPath !== undefined) {
        const missing = dockerCertFileNames.filter((f) => !certFiles?.includes(f));
        if (missing.length > 0) {
            problems.push(`${key}.dockerCertPath: ${dc.dockerCertPath} must hold ${dockerCertFileNames.join(", ")}; ${missing.join(", ")} missing`);
        }
    }
    if (dc.dockerSshOpts !== undefined) {
        if (!Array.isArray(dc.dockerSshOpts) || dc.dockerSshOpts.some((o) => typeof o !== "string")) {
            problems.push(`${key}.dockerSshOpts must be a list of ssh options such as ["-o", "StrictHostKeyChecking=yes"], not ${show(dc.dockerSshOpts)}`);
        } else if (kind !== "ssh") {
            problems.push(`${key}.dockerSshOpts is only for an ssh:// dockerHost, not ${show(dc.dockerHost ?? "the local engine")}`);
        }
    }
    if (dc.hostAddress !== undefined) {
        if (typeof dc.hostAddress !== "string" || !isIPv4(dc.hostAddress) || dc.hostAddress === "0.0.0.0") {
            problems.push(`${key}.hostAddress must be the IPv4 address other datacenters and you reach this host on, such as 192.168.1.20, not ${show(dc.hostAddress)}`);
        } else if (acrossHosts && dc.hostAddress.startsWith("127.")) {
            problems.push(`${key}.hostAddress is ${dc.hostAddress}, a loopback address: the other Docker hosts cannot reach ${dc.name}'s servers there`);
        }
    } else if (acrossHosts) {
        problems.push(
            `${key}.hostAddress is required when the datacenters run on more than one Docker host: the other datacenters' servers ` +
                `reach ${show(dc.name)}'s servers on that address`,
        );
    } else if (kind === "tcp" || kind === "ssh") {
        problems.push(`${key}.hostAddress is required with a ${kind}:// dockerHost: ${show(dc.name)}'s UI, API and DNS are published on it`);
    }
    return problems;
}

/** Every problem with the Docker host keys of every datacenter, and with the ports each host publishes. */
export function dockerHostProblems(settings: StackSettings): string[] {
    const dcs = settings.datacenters;
    const acrossHosts = spansHosts(dcs);
    const problems = dcs.flatMap((dc, i) => datacenterHostProblems(dc, `datacenters[${i}]`, dc.dockerCertPath ? settings.dockerCertFiles?.[dc.dockerCertPath] : undefined, acrossHosts));
    const addressOfHost = new Map<string, { address: string; key: string }>();
    const hostOfAddress = new Map<string, { host: string; key: string }>();
    dcs.forEach((dc, i) => {
        if (typeof dc.hostAddress !== "string") {
            return;
        }
        const key = `datacenters[${i}].hostAddress`;
        const same = addressOfHost.get(hostKey(dc));
        if (same && same.address !== dc.hostAddress) {
            problems.push(`${key} is ${dc.hostAddress}, but ${same.key} on the same dockerHost says ${same.address}; one host has one address here`);
        }
        const other = hostOfAddress.get(dc.hostAddress);
        if (other && other.host !== hostKey(dc)) {
            problems.push(`${key} is ${dc.hostAddress}, which ${other.key} gives for another dockerHost; each Docker host needs its own address`);
        }
        addressOfHost.set(hostKey(dc), same ?? { address: dc.hostAddress, key });
        hostOfAddress.set(dc.hostAddress, other ?? { host: hostKey(dc), key });
    });
    return [...problems, ...hostPortProblems(settings, acrossHosts)];
}

/**
 * A port may be published once per host: each datacenter's httpPort and dnsPort and, across hosts,
 * its servers' ports. Ports that are not numbers are the port check's business (validate.ts).
 */
function hostPortProblems(settings: StackSettings, acrossHosts: boolean): string[] {
    const problems: string[] = [];
    const seen = new Map<string, string>();
    const claim = (host: string, port: number, key: string, owner: string) => {
        const other = seen.get(`${host}\u0000${port}`);
        if (!other) {
            seen.set(`${host}\u0000${port}`, owner);
        } else if (owner === key) {
            problems.push(`${key} is ${port}, which ${other} already uses; each host port must be unique on a Docker host`);
        } else {
            problems.push(
                `${key}: ${owner} would publish port ${port}, which ${other} already uses on the same Docker host. Servers across ` +
                    "hosts publish ports from 8300 up, 10 apart per server on a host; move the other port out of their way",
            );
        }
    };
    settings.datacenters.forEach((dc, i) => {
        for (const field of ["httpPort", "dnsPort"] as const) {
            if (isWholeNumberIn(dc[field], 1, 65535)) {
                claim(hostKey(dc), dc[field], `datacenters[${i}].${field}`, `datacenters[${i}].${field}`);
            }
        }
    });
    if (acrossHosts) {
        const peered = hasPeering(settings.datacenters);
        const slots = new Map<string, number>();
        settings.datacenters.forEach((dc, i) => {
            for (let s = 1; s <= (Number.isInteger(dc.servers) ? dc.servers : 0); s++) {
                const slot = slots.get(hostKey(dc)) ?? 0;
                slots.set(hostKey(dc), slot + 1);
                const ports = serverHostPorts(slot, i === 0, peered);
                for (const port of [ports.server, ports.serfWan, ...(ports.api ? [ports.api] : []), ...(ports.grpcTls ? [ports.grpcTls] : [])]) {
                    claim(hostKey(dc), port, `datacenters[${i}].servers`, `${dc.name}-server${s}`);
                }
            }
        });
    }
    return problems;
}
