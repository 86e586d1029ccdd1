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
