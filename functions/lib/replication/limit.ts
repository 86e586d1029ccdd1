/**
 * Runs `task` over `items` with at most `limit` running at once. On the first failure no
 * further item starts; the running ones finish, then the first error is thrown.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * Runs `task` for every item an async source yields, at most `limit` at once, pulling new
 * items only as workers free up (a long listing is never held whole). `task` handles its own
 * errors; an error of the source stops the run and is thrown.
 */
export async function forEachLimit<T>(
  source: AsyncIterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let pulling: Promise<IteratorResult<T>> = Promise.resolve({ done: false, value: undefined as T });
  let exhausted = false;
  // Serialises pulls: async generators must not be advanced concurrently.
  const pull = (): Promise<IteratorResult<T>> => {
    pulling = pulling.then(() => (exhausted ? { done: true, value: undefined } : iterator.next()));
    return pulling;
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = await pull();
      if (next.done) {
        exhausted = true;
        return;
      }
      await task(next.value);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}

/** A counting semaphore: at most `permits` holders at once. */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(permits: number) {
    this.#free = permits;
  }

  async use<R>(task: () => Promise<R>): Promise<R> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
