import { parseRetryAfter, sleep } from './retry.ts';

/**
 * How a registry's request budget is kept (the config's `rateLimit.requestsPerSecond`): a
 * request waits in `take` until the budget allows it. In one process that is a
 * RequestRateLimiter; deployed, many Lambda invocations share one budget kept in the records
 * (functions/lib/stores/request-budgets.ts), since a per-invocation limiter would multiply the
 * budget by the number of invocations.
 */
export interface RequestBudget {
  take(signal?: AbortSignal): Promise<void>;
}

/**
 * A per-process request budget: requests are spaced so that no more than the budget starts in
 * any second, with a burst of one second's worth.
 */
export class RequestRateLimiter implements RequestBudget {
  readonly #intervalMs: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt = Date.now();

  constructor(requestsPerSecond: number) {
    this.#intervalMs = 1000 / requestsPerSecond;
    this.#burst = Math.max(1, Math.floor(requestsPerSecond));
    this.#tokens = this.#burst;
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilledAt) / this.#intervalMs);
      this.#refilledAt = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await sleep((1 - this.#tokens) * this.#intervalMs, signal);
    }
  }
}

/** Docker Hub's `RateLimit-Remaining: 0;w=21600`: a count and the window in seconds. */
function quota(value: string | string[] | undefined): { count: number; windowSeconds?: number } | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const match = text?.trim().match(/^(\d+)(?:\s*;\s*w=(\d+))?/);
  if (!match) return undefined;
  return { count: Number(match[1]), ...(match[2] ? { windowSeconds: Number(match[2]) } : {}) };
}

/** When a registry says its quota is used up but not when it comes back. */
const EXHAUSTED_PAUSE_MS = 60_000;

/**
 * What a registry says about its own limits, for every request of the client rather than only
 * the one that was told: a `Retry-After` on a 429 or 503, and Docker Hub's quota headers —
 * `RateLimit-Remaining: 0` pauses until one request's share of the window has passed
 * (window ÷ limit: 216 s for Docker Hub's 100 pulls per 6 hours), instead of spending
 * requests that would be refused. Reading two headers per response: free for a registry that
 * sends none.
 */
export class RegistryPause {
  #until = 0;

  observe(status: number, headers: Record<string, string | string[] | undefined>, now = Date.now()): void {
    if (status === 429 || status === 503) {
      const retryAfter = parseRetryAfter(headers['retry-after'], now);
      if (retryAfter !== undefined) this.#extend(now + retryAfter);
    }
    const remaining = quota(headers['ratelimit-remaining']);
    if (remaining?.count === 0) {
      const limit = quota(headers['ratelimit-limit']);
      const windowSeconds = remaining.windowSeconds ?? limit?.windowSeconds;
      const share =
        limit && limit.count > 0 && windowSeconds !== undefined
          ? (windowSeconds * 1000) / limit.count
          : EXHAUSTED_PAUSE_MS;
      this.#extend(now + share);
    }
  }

  /** Milliseconds left before the registry wants requests again; 0 when it does. */
  remainingMs(now = Date.now()): number {
    return Math.max(0, this.#until - now);
  }

  #extend(until: number): void {
    this.#until = Math.max(this.#until, until);
  }
}
