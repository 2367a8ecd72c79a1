// Docker healthchecks as the Docker provider stores them.
//
// The provider reads a container's healthcheck back with Go's time.Duration.String(), so "60s" comes back
// as "1m0s". Any other spelling than Go's differs from the state on every `pulumi preview` and `refresh`,
// and an update of a healthcheck never reaches the running container anyway. So durations are written
// exactly as Go prints them.

/** Seconds as Go's time.Duration.String() prints them: 0.5 → "500ms", 2 → "2s", 60 → "1m0s", 3600 → "1h0m0s". */
export function goDuration(seconds: number): string {
    if (!Number.isFinite(seconds) || seconds < 0) {
        throw new Error(`a duration must be a non-negative number of seconds, not ${seconds}`);
    }
    if (seconds === 0) {
        return "0s";
    }
    if (seconds < 1) {
        return `${Math.round(seconds * 1000 * 1e6) / 1e6}ms`;
    }
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.round((seconds % 60) * 1e9) / 1e9;
    return `${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${s}s`;
}

/** A `CMD-SHELL` healthcheck with its timings in seconds. */
export function shellHealthcheck(
    command: string,
    t: { interval: number; timeout: number; startPeriod: number; retries: number },
) {
    return {
        tests: ["CMD-SHELL", command],
        interval: goDuration(t.interval),
        timeout: goDuration(t.timeout),
        startPeriod: goDuration(t.startPeriod),
        retries: t.retries,
    };
}
