import type { BlobClaims, BlobIndex } from './blob-index.ts';
import { ReleaseWaiters } from './release-waiters.ts';

/** Repositories remembered per blob: enough for a fallback when the newest was deleted. */
export const MAX_HOLDERS_PER_BLOB = 3;

/**
 * Where blobs were seen in each destination registry, in this process's memory: a BlobIndex for
 * one run (the CLI's cache file loads into one and saves it). Newest first, bounded per blob.
 */
export class BlobLocations implements BlobIndex {
  readonly #byRegistry = new Map<string, Map<string, string[]>>();
  readonly #maxPerBlob: number;

  constructor(maxPerBlob = MAX_HOLDERS_PER_BLOB) {
    this.#maxPerBlob = maxPerBlob;
  }

  /** The repositories, newest first; synchronous, for loading and saving a cache. */
  list(registry: string, digest: string): string[] {
    return [...(this.#byRegistry.get(registry)?.get(digest) ?? [])];
  }

  /** Every registry, digest and its repositories; for saving a cache. */
  *entries(): Generator<[registry: string, digest: string, repositories: string[]]> {
    for (const [registry, digests] of this.#byRegistry)
      for (const [digest, repositories] of digests) yield [registry, digest, [...repositories]];
  }

  set(registry: string, digest: string, repositories: string[]): void {
    let digests = this.#byRegistry.get(registry);
    if (!digests) {
      digests = new Map();
      this.#byRegistry.set(registry, digests);
    }
    const kept = [...new Set(repositories)].slice(0, this.#maxPerBlob);
    if (kept.length === 0) digests.delete(digest);
    else digests.set(digest, kept);
  }

  add(registry: string, digest: string, repository: string): void {
    this.set(registry, digest, [repository, ...this.list(registry, digest)]);
  }

  remove(registry: string, digest: string, repository: string): void {
    this.set(
      registry,
      digest,
      this.list(registry, digest).filter((r) => r !== repository),
    );
  }

  async holders(registry: string, digest: string): Promise<string[]> {
    return this.list(registry, digest);
  }

  async remember(registry: string, digest: string, repository: string): Promise<void> {
    this.add(registry, digest, repository);
  }

  async forget(registry: string, digest: string, repository: string): Promise<void> {
    this.remove(registry, digest, repository);
  }
}

/** A long-running `serve` drops the expired claims that no holder released when it holds this many. */
const SWEEP_CLAIMS_AT = 1024;

/**
 * Claims inside one process: the CLI's `sync` (several tags at once) and the local runtime's
 * `serve`, whose every job runs in the process (a restart starts with no claim, as its copies
 * died with it). With `ttlSeconds` a claim lasts that long unless its holder claims it again,
 * as the table's claims do (functions/lib/stores/blob-claims.ts): a task that died or was given
 * up holding one delays the others at most that long. Without, a holder keeps its claim until
 * it releases it, which the CLI's copy does whatever happens (in a `finally`).
 */
export class LocalBlobClaims implements BlobClaims {
  readonly #holders = new Map<string, { holder: string; expiresAt: number }>();
  readonly #waiters = new ReleaseWaiters();
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Claims kept when expired ones are next dropped (a died holder's are never released). */
  #sweepAt = SWEEP_CLAIMS_AT;

  constructor(options: { ttlSeconds?: number | undefined; now?: (() => number) | undefined } = {}) {
    this.#ttlMs = options.ttlSeconds === undefined ? Number.POSITIVE_INFINITY : options.ttlSeconds * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Who holds the claim now: nobody once it expired. */
  #holder(key: string): string | undefined {
    const current = this.#holders.get(key);
    return current && current.expiresAt >= this.#now() ? current.holder : undefined;
  }

  async claim(registry: string, digest: string, holder: string): Promise<boolean> {
    const key = `${registry} ${digest}`;
    const current = this.#holder(key);
    if (current !== undefined && current !== holder) return false;
    this.#holders.set(key, { holder, expiresAt: this.#now() + this.#ttlMs });
    if (this.#holders.size >= this.#sweepAt) this.#dropExpired();
    return true;
  }

  /** Claims held, expired or not (the expired go when there are SWEEP_CLAIMS_AT). */
  get size(): number {
    return this.#holders.size;
  }

  #dropExpired(): void {
    const now = this.#now();
    for (const [key, { expiresAt }] of this.#holders) if (expiresAt < now) this.#holders.delete(key);
    // Live claims stay: look again once as many more are taken, so a claim costs O(1) on average.
    this.#sweepAt = Math.max(SWEEP_CLAIMS_AT, 2 * this.#holders.size);
  }

  async release(registry: string, digest: string, holder: string): Promise<void> {
    const key = `${registry} ${digest}`;
    if (this.#holder(key) !== holder) return;
    this.#holders.delete(key);
    this.#waiters.wake(key);
  }

  released(registry: string, digest: string, signal: AbortSignal): Promise<void> {
    const key = `${registry} ${digest}`;
    if (this.#holder(key) === undefined) return Promise.resolve();
    return this.#waiters.wait(key, signal);
  }
}
