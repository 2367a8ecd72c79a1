// Where `pulumi up` spends its time before the first agent starts, from the engine's own events: each
// resource's step from its pre-event to its outputs event, grouped by resource kind. Times are when this
// process received each event (the Automation API streams them from the engine as they happen, to the
// millisecond); the events' own timestamps count whole seconds only.
import type { EngineEvent } from "@pulumi/pulumi/automation";

export interface ReceivedEvent {
    /** Epoch ms at which the event arrived. */
    readonly at: number;
    readonly event: EngineEvent;
}

/** One kind of resource in one `pulumi up`: how many, and when (ms from the command's start) its steps ran. */
export interface KindSpan {
    readonly kind: string;
    readonly count: number;
    /** The first step's start and the last step's end. */
    readonly from: number;
    readonly to: number;
}

/** e.g. "docker:index/container:Container" → "docker Container"; component types keep their last part. */
const kindOf = (type: string) => {
    const [pkg] = type.split(":");
    return `${pkg} ${type.split(":").pop()}`;
};

/**
 * Every kind of resource whose steps began before `until` (the first agent's start), with its span from
 * `t0` (the command's start); and when the engine's first step began, which is what the CLI, its plugins
 * and the program cost before any resource.
 */
export function kindSpans(
    events: readonly ReceivedEvent[],
    t0: number,
    until: number,
): { firstStep: number; kinds: KindSpan[] } {
    const started = new Map<string, { type: string; at: number }>();
    const spans = new Map<string, { count: number; from: number; to: number }>();
    for (const { at, event } of events) {
        const pre = event.resourcePreEvent?.metadata;
        const done = event.resOutputsEvent?.metadata;
        if (pre && !event.resourcePreEvent?.planning) {
            started.set(pre.urn, { type: pre.type, at });
        } else if (done && started.has(done.urn)) {
            const { type, at: from } = started.get(done.urn) as { type: string; at: number };
            // The stack, providers and our components span the whole run; the kinds that do work are the rest.
            if (from > until || type.startsWith("pulumi:") || type.startsWith("consul-multi-dc:")) continue;
            const span = spans.get(kindOf(type)) ?? { count: 0, from: Infinity, to: 0 };
            spans.set(kindOf(type), {
                count: span.count + 1,
                from: Math.min(span.from, from - t0),
                to: Math.max(span.to, at - t0),
            });
        }
    }
    const firstStep = Math.min(...[...started.values()].map((s) => s.at)) - t0;
    return { firstStep, kinds: [...spans].map(([kind, s]) => ({ kind, ...s })).sort((a, b) => a.from - b.from) };
}
