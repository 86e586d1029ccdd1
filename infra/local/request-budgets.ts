/**
 * Request budgets of the local gateway: a token bucket per key (`webhook:<source>`,
 * `api:<client>`, `unauthenticated:<route class>:<client>`), so a flood spends only its own
 * budget. Buckets of idle keys are dropped once there are many, so a flood from many addresses
 * cannot grow the map without bound.
 */

export interface Budget {
  /** Requests per second, refilled continuously. */
  rate: number;
  /** Requests at once. */
  burst: number;
}

/** Buckets kept before the idle (full) ones are dropped. */
const MAX_BUCKETS = 10_000;

class TokenBucket {
  readonly budget: Budget;
  #tokens: number;
  #last: number;
  constructor(budget: Budget, now: number) {
    this.budget = budget;
    this.#tokens = budget.burst;
    this.#last = now;
  }
  refill(now: number): number {
    this.#tokens = Math.min(this.budget.burst, this.#tokens + ((now - this.#last) / 1000) * this.budget.rate);
    this.#last = now;
    return this.#tokens;
  }
  take(now: number): boolean {
    if (this.refill(now) < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export class RequestBudgets {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Takes one request from `key`'s bucket; false when it is spent (answer 429). */
  take(key: string, budget: Budget): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#dropIdle(now);
      bucket = new TokenBucket(budget, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  get size(): number {
    return this.#buckets.size;
  }

  #dropIdle(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.refill(now) >= bucket.budget.burst) this.#buckets.delete(key);
    }
  }
}
