// Demo services: the `services` of a datacenter in stack config, checked and laid out on fixed addresses
// (render/service-definitions.ts turns them into what the agents load). Pure: no Pulumi, no Docker.
import { hostAddress, Ipv4Cidr } from "./cidr";
import { show } from "./describe";

/** One entry of `datacenters[i].services`, as the user wrote it. */
export interface ServiceSettings {
    readonly name: string;
    readonly port: number;
    readonly tags?: readonly string[];
    /** How many instances, each a container of its own; 1 unless set. */
    readonly instances?: number;
    /** The HTTP path the health check asks for, and how often; "/health" every 5 s unless set. */
    readonly check?: { readonly path?: string; readonly intervalSeconds?: number };
}

export interface ServiceInstance {
    /** Container name and Consul service ID, e.g. dc1-web-1. */
    readonly id: string;
    readonly service: string;
    readonly datacenter: string;
    readonly address: string;
    readonly port: number;
    readonly tags: readonly string[];
    readonly checkPath: string;
    readonly checkIntervalSeconds: number;
}

// Instances take the top of each LAN: .201 up to .250, after the clients (.101 to .200).
export const instanceOffset = 200;
export const maxInstances = 50;

const serviceNamePattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const tagPattern = /^[A-Za-z0-9_.-]+$/;
const checkPathPattern = /^\/[A-Za-z0-9._~\/-]*$/;

const wholeIn = (v: unknown, min: number, max: number): v is number =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/** Every problem with one datacenter's `services`; `key` is its config key, e.g. datacenters[0].services. */
export function serviceProblems(services: unknown, clients: unknown, key: string): string[] {
    if (services === undefined) {
        return [];
    }
    if (!Array.isArray(services)) {
        return [`${key} must be a list of services, not ${show(services)}`];
    }
    const problems: string[] = [];
    if (services.length > 0 && clients === 0) {
        problems.push(`${key} needs a client agent to register on: a service belongs to its local agent, and this datacenter's clients is 0`);
    }
    const names = new Map<string, number>();
    let total = 0;
    services.forEach((s: Partial<Record<keyof ServiceSettings, unknown>>, i) => {
        const k = `${key}[${i}]`;
        if (typeof s.name !== "string" || s.name.length > 63 || !serviceNamePattern.test(s.name)) {
            problems.push(`${k}.name must be lowercase letters, digits and "-" (a DNS label, at most 63), not ${show(s.name)}`);
        } else if (names.has(s.name)) {
            problems.push(`${k}.name "${s.name}" is already used by ${key}[${names.get(s.name)}]; names must be unique in a datacenter`);
        } else {
            names.set(s.name, i);
        }
        if (!wholeIn(s.port, 1024, 65535)) {
            problems.push(`${k}.port must be a port number from 1024 to 65535 (instances run unprivileged), not ${show(s.port)}`);
        }
        if (s.tags !== undefined && (!Array.isArray(s.tags) || !s.tags.every((t) => typeof t === "string" && tagPattern.test(t)))) {
            problems.push(`${k}.tags must be a list of words of letters, digits, "_", "." and "-", not ${show(s.tags)}`);
        }
        if (s.instances !== undefined && !wholeIn(s.instances, 1, maxInstances)) {
            problems.push(`${k}.instances must be a whole number from 1 to ${maxInstances}, not ${show(s.instances)}`);
        }
        total += wholeIn(s.instances, 1, maxInstances) ? s.instances : 1;
        const check = s.check as Record<string, unknown> | undefined;
        if (check !== undefined) {
            if (typeof check !== "object" || check === null) {
                problems.push(`${k}.check must be an object with path and intervalSeconds, not ${show(check)}`);
            } else {
                if (check.path !== undefined && (typeof check.path !== "string" || !checkPathPattern.test(check.path))) {
                    problems.push(`${k}.check.path must be a URL path starting with "/", not ${show(check.path)}`);
                }
                if (check.intervalSeconds !== undefined && !wholeIn(check.intervalSeconds, 1, 3600)) {
                    problems.push(`${k}.check.intervalSeconds must be a whole number from 1 to 3600, not ${show(check.intervalSeconds)}`);
                }
            }
        }
    });
    if (total > maxInstances) {
        problems.push(`${key} asks for ${total} instances; a datacenter has room for ${maxInstances}`);
    }
    return problems;
}

/** The instances of one datacenter's services, on fixed addresses from .201. Expects validated settings. */
export function serviceInstances(datacenter: string, cidr: Ipv4Cidr, services: readonly ServiceSettings[], namePrefix = ""): ServiceInstance[] {
    let next = instanceOffset + 1;
    return services.flatMap((s) =>
        Array.from({ length: s.instances ?? 1 }, (_, i) => ({
            id: `${namePrefix}${datacenter}-${s.name}-${i + 1}`,
            service: s.name,
            datacenter,
            address: hostAddress(cidr, next++),
            port: s.port,
            tags: s.tags ?? [],
            checkPath: s.check?.path ?? "/health",
            checkIntervalSeconds: s.check?.intervalSeconds ?? 5,
        })),
    );
}
