/**
 * What a sole writer of the records read once and keeps, by key (docs/architecture.md,
 * "Records", `soleWriter`): each key is loaded on first use — once, however many ask at the same
 * time — and loaded again after a load that failed. The store changes a kept value in place after
 * each write of its own.
 */
export class KeptReads<K, V> {
  readonly #values = new Map<K, Promise<V>>();
  readonly #load: (key: K) => Promise<V>;

  constructor(load: (key: K) => Promise<V>) {
    this.#load = load;
  }

  /** The kept value, loaded now if it is not yet. */
  get(key: K): Promise<V> {
    let value = this.#values.get(key);
    if (!value) {
      value = this.#load(key);
      this.#values.set(key, value);
      value.catch(() => this.#values.delete(key));
    }
    return value;
  }

  /** The kept value once a load under way ends; undefined when none was kept (nothing to change). */
  async ifLoaded(key: K): Promise<V | undefined> {
    return this.#values.get(key)?.catch(() => undefined);
  }
}
