// Demo services: the `services` of a datacenter in stack config, parsed and laid out on fixed addresses
// (render/service-definitions.ts turns them into what the agents load). Pure: no Pulumi, no Docker.
import { hostAddress, type Ipv4Cidr } from "./cidr";
import { serviceCheckConfigKeys, serviceConfigKeys } from "./config-keys";
import { isRecord, isStringList, matching, parseWith, show, unknownKeyProblems, wholeNumberIn } from "./describe";
import { instanceOffset, maxInstances } from "./lan-layout";
import { meshPorts } from "./mesh-ports";
import { serviceInstanceId, sidecarContainerName } from "./names";

/** One entry of `datacenters[i].services`, as the user wrote it. */
export interface ServiceSettings {
    readonly name: string;
    readonly port: number;
    readonly tags?: readonly string[];
    /** How many instances, each a container of its own; 1 unless set. */
    readonly instances?: number;
    /** The HTTP path the health check asks for, and how often; "/health" every 5 s unless set. */
    readonly check?: { readonly path?: string; readonly intervalSeconds?: number };
    /**
     * Mesh only: a service this one calls through its sidecar's upstream on localhost. Its instances then
     * answer "/" with that service's answer, so a caller sees which instance, in which datacenter, served it.
     */
    readonly upstream?: string;
    /** A host port to publish its first instance on (the next instances on the ports after it); none unless set. */
    readonly publishPort?: number;
}

/** A service as parseServices returns it: every value checked, every default filled in. */
export interface ServiceConfig {
    readonly name: string;
    readonly port: number;
    readonly tags: readonly string[];
    readonly instances: number;
    readonly check: { readonly path: string; readonly intervalSeconds: number };
    readonly upstream?: string;
    readonly publishPort?: number;
}

export interface ServiceInstance {
    /** Container name and Consul service ID, e.g. dc1-web-1. */
    readonly id: string;
    readonly service: string;
    /** 1-based position among its service's instances, e.g. 1 for dc1-web-1. */
    readonly ordinal: number;
    readonly datacenter: string;
    readonly address: string;
    readonly port: number;
    readonly tags: readonly string[];
    readonly checkPath: string;
    readonly checkIntervalSeconds: number;
    /** The host port it is published on, when its service has a publishPort. */
    readonly publishPort?: number;
    /** Mesh only: its Envoy sidecar, in its network namespace. */
    readonly sidecar?: SidecarModel;
}

/** An instance's Envoy sidecar: its container shares the instance's network namespace. */
export interface SidecarModel {
    /** Container name, e.g. dc1-web-1-sidecar. */
    readonly container: string;
    /** Consul's service ID of the sidecar proxy, e.g. dc1-web-1-sidecar-proxy. */
    readonly proxyId: string;
    /** The upstream its instance calls, on 127.0.0.1:localPort. */
    readonly upstream?: { readonly service: string; readonly localPort: number };
}

const serviceName = (value: unknown): value is string =>
    matching(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/)(value) && value.length <= 63;
const tagList = (value: unknown): value is readonly string[] =>
    isStringList(value) && value.every((t) => /^[A-Za-z0-9_.-]+$/.test(t));
const checkPath = matching(/^\/[A-Za-z0-9._~/-]*$/);

/** A service's health check: "/health" every 5 s, unless the entry says otherwise. */
function parseCheck(raw: unknown, k: string, problems: string[]): ServiceConfig["check"] | undefined {
    if (raw === undefined) {
        return { path: "/health", intervalSeconds: 5 };
    }
    if (!isRecord(raw)) {
        problems.push(`${k}.check must be an object with path and intervalSeconds, not ${show(raw)}`);
        return undefined;
    }
    problems.push(...unknownKeyProblems(raw, serviceCheckConfigKeys, `${k}.check`, "a service check"));
    const path =
        raw.path === undefined
            ? "/health"
            : parseWith(
                  raw.path,
                  checkPath,
                  `${k}.check.path must be a URL path starting with "/", not ${show(raw.path)}`,
                  problems,
              );
    const intervalSeconds =
        raw.intervalSeconds === undefined
            ? 5
            : parseWith(
                  raw.intervalSeconds,
                  wholeNumberIn(1, 3600),
                  `${k}.check.intervalSeconds must be a whole number from 1 to 3600, not ${show(raw.intervalSeconds)}`,
                  problems,
              );
    return path !== undefined && intervalSeconds !== undefined ? { path, intervalSeconds } : undefined;
}

/**
 * One datacenter's `services` (`key` is its config key, e.g. datacenters[0].services), or undefined
 * with every problem among `problems`. `clients` is the datacenter's client count as written.
 */
export function parseServices(
    raw: unknown,
    clients: unknown,
    key: string,
    problems: string[],
): ServiceConfig[] | undefined {
    if (raw === undefined) {
        return [];
    }
    if (!Array.isArray(raw)) {
        problems.push(`${key} must be a list of services, not ${show(raw)}`);
        return undefined;
    }
    const before = problems.length;
    if (raw.length > 0 && clients === 0) {
        problems.push(
            `${key} needs a client agent to register on: a service belongs to its local agent, ` +
                "and this datacenter's clients is 0",
        );
    }
    const names = new Map<string, number>();
    let total = 0;
    const services = raw.flatMap((entry: unknown, i): ServiceConfig[] => {
        const k = `${key}[${i}]`;
        if (!isRecord(entry)) {
            problems.push(`${k} must be a service: an object with ${serviceConfigKeys.join(", ")}, not ${show(entry)}`);
            return [];
        }
        problems.push(...unknownKeyProblems(entry, serviceConfigKeys, k, "a service"));
        let name = parseWith(
            entry.name,
            serviceName,
            `${k}.name must be lowercase letters, digits and "-" (a DNS label, at most 63), not ${show(entry.name)}`,
            problems,
        );
        if (name !== undefined && names.has(name)) {
            problems.push(
                `${k}.name "${name}" is already used by ${key}[${names.get(name)}]; ` +
                    "names must be unique in a datacenter",
            );
            name = undefined;
        } else if (name !== undefined) {
            names.set(name, i);
        }
        const port = parseWith(
            entry.port,
            wholeNumberIn(1024, 65535),
            `${k}.port must be a port number from 1024 to 65535 (instances run unprivileged), not ${show(entry.port)}`,
            problems,
        );
        const tags =
            entry.tags === undefined
                ? []
                : parseWith(
                      entry.tags,
                      tagList,
                      `${k}.tags must be a list of words of letters, digits, "_", "." and "-", not ${show(entry.tags)}`,
                      problems,
                  );
        const instances =
            entry.instances === undefined
                ? 1
                : parseWith(
                      entry.instances,
                      wholeNumberIn(1, maxInstances),
                      `${k}.instances must be a whole number from 1 to ${maxInstances}, not ${show(entry.instances)}`,
                      problems,
                  );
        total += instances ?? 1;
        const check = parseCheck(entry.check, k, problems);
        const upstream =
            entry.upstream === undefined
                ? undefined
                : parseWith(
                      entry.upstream,
                      serviceName,
                      `${k}.upstream must name a service (a DNS label), not ${show(entry.upstream)}`,
                      problems,
                  );
        const publishPort =
            entry.publishPort === undefined
                ? undefined
                : parseWith(
                      entry.publishPort,
                      wholeNumberIn(1, 65535),
                      `${k}.publishPort must be a port number from 1 to 65535, not ${show(entry.publishPort)}`,
                      problems,
                  );
        if (upstream !== undefined && upstream === name) {
            problems.push(`${k}.upstream names the service itself; name another service it calls`);
        }
        return name !== undefined &&
            port !== undefined &&
            tags !== undefined &&
            instances !== undefined &&
            check !== undefined
            ? [
                  {
                      name,
                      port,
                      tags,
                      instances,
                      check,
                      ...(upstream !== undefined ? { upstream } : {}),
                      ...(publishPort !== undefined ? { publishPort } : {}),
                  },
              ]
            : [];
    });
    if (total > maxInstances) {
        problems.push(`${key} asks for ${total} instances; a datacenter has room for ${maxInstances}`);
    }
    return problems.length === before ? services : undefined;
}

/** The instances of one datacenter's services, on fixed addresses from .201; each with a sidecar when `mesh`. */
export function serviceInstances(
    datacenter: string,
    cidr: Ipv4Cidr,
    services: readonly ServiceConfig[],
    namePrefix = "",
    mesh = false,
): ServiceInstance[] {
    let next = instanceOffset + 1;
    return services.flatMap((s) =>
        Array.from({ length: s.instances }, (_, i): ServiceInstance => {
            const id = serviceInstanceId(namePrefix, datacenter, s.name, i + 1);
            return {
                id,
                service: s.name,
                ordinal: i + 1,
                datacenter,
                address: hostAddress(cidr, next++),
                port: s.port,
                tags: s.tags,
                checkPath: s.check.path,
                checkIntervalSeconds: s.check.intervalSeconds,
                ...(s.publishPort !== undefined ? { publishPort: s.publishPort + i } : {}),
                ...(mesh
                    ? {
                          sidecar: {
                              container: sidecarContainerName(id),
                              proxyId: `${id}-sidecar-proxy`,
                              ...(s.upstream !== undefined
                                  ? { upstream: { service: s.upstream, localPort: meshPorts.upstream } }
                                  : {}),
                          },
                      }
                    : {}),
            };
        }),
    );
}
