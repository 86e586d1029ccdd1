import { sleep } from './retry.ts';

/**
 * A per-registry request budget (the config's `rateLimit.requestsPerSecond`): requests are
 * spaced so that no more than the budget starts in any second, with a burst of one second's worth.
 */
export class RequestRateLimiter {
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
