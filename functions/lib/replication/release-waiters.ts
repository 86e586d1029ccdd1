import type { BlobClaims } from './blob-index.ts';

/**
 * Who waits, in this process, for a blob's claim to be given up (BlobClaims.released): a
 * release wakes them all at once. A waiter that stops listening (its signal aborts, the poll
 * woke it first) is taken off, so waits that no release ends leave nothing behind.
 */
export class ReleaseWaiters {
  readonly #waiting = new Map<string, Set<() => void>>();

  wait(key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(key) ?? new Set();
      this.#waiting.set(key, waiters);
      const done = () => {
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiting.get(key) === waiters) this.#waiting.delete(key);
        signal.removeEventListener('abort', done);
        resolve();
      };
      waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  wake(key: string): void {
    for (const done of [...(this.#waiting.get(key) ?? [])]) done();
  }

  /** Keys someone waits on (for tests: nothing is left behind). */
  get size(): number {
    return this.#waiting.size;
  }
}

/**
 * `claims` that also wake this process's waiters when a holder here gives a claim up. The
 * table's claims cannot tell a waiter in another process (a Lambda's) that a copy landed — it
 * polls — but in the local runtime every job's tasks share one process, so a waiting job mounts
 * the blob the moment the copy lands instead of at its next poll (docs/architecture.md, "Mounts").
 */
export function wakingClaims(claims: BlobClaims): BlobClaims {
  const waiters = new ReleaseWaiters();
  const key = (registry: string, digest: string) => `${registry} ${digest}`;
  return {
    claim: (registry, digest, holder) => claims.claim(registry, digest, holder),
    async release(registry, digest, holder) {
      await claims.release(registry, digest, holder);
      // Woken by a release that was not the holder's, a waiter only looks once more.
      waiters.wake(key(registry, digest));
    },
    released: (registry, digest, signal) => waiters.wait(key(registry, digest), signal),
  };
}
