// What a client agent loads for its demo services (services.json), and the pages each instance serves.
// Pure: the model's service instances in, JSON and HTML out.
import type { ServiceInstance } from "../model/services";

/**
 * The service definitions a client agent loads from its config dir (services.json): every instance of
 * the datacenter, each with its HTTP check. `tokens` maps a service name to the token that may register
 * it, so the file is a secret.
 */
export function serviceDefinitions(instances: readonly ServiceInstance[], tokens: Record<string, string>): object {
    return {
        services: instances.map((i) => ({
            id: i.id,
            name: i.service,
            address: i.address,
            port: i.port,
            tags: i.tags,
            meta: { instance: i.id },
            token: tokens[i.service],
            check: {
                id: `${i.id}-http`,
                name: `HTTP ${i.checkPath} on ${i.id}`,
                http: `http://${i.address}:${i.port}${i.checkPath}`,
                interval: `${i.checkIntervalSeconds}s`,
                timeout: "2s",
            },
        })),
    };
}

/** What an instance serves: a page that names it, and its health check path. */
export function instancePages(i: ServiceInstance): { path: string; content: string }[] {
    const page = `${JSON.stringify({ service: i.service, instance: i.id, datacenter: i.datacenter })}\n`;
    return [
        { path: "/index.html", content: page },
        { path: i.checkPath === "/" ? "/index.html" : i.checkPath, content: "ok\n" },
    ].filter((p, idx, all) => all.findIndex((q) => q.path === p.path) === idx);
}
