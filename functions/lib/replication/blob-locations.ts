/**
 * Where blobs were last seen in each destination registry, so a layer shared by several
 * repositories is mounted (one request, no bytes) instead of copied again. An in-memory hint:
 * a wrong hint costs one failed mount, which falls back to an upload.
 */
export class BlobLocations {
  readonly #byHost = new Map<string, Map<string, string[]>>();
  readonly #copying = new Map<string, Promise<unknown>>();
  readonly #maxPerBlob: number;

  constructor(maxPerBlob = 3) {
    this.#maxPerBlob = maxPerBlob;
  }

  record(host: string, digest: string, repository: string): void {
    let digests = this.#byHost.get(host);
    if (!digests) {
      digests = new Map();
      this.#byHost.set(host, digests);
    }
    const repositories = digests.get(digest) ?? [];
    if (repositories.includes(repository)) return;
    repositories.unshift(repository);
    digests.set(digest, repositories.slice(0, this.#maxPerBlob));
  }

  /** Repositories of `host` known to hold `digest`, other than `except`. */
  candidates(host: string, digest: string, except: string): string[] {
    return (this.#byHost.get(host)?.get(digest) ?? []).filter((r) => r !== except);
  }

  /**
   * A copy of `digest` into `host` that is under way in this process, if any. Jobs that share
   * a layer wait for the first copy and then mount it, instead of all copying it at once.
   */
  copying(host: string, digest: string): Promise<unknown> | undefined {
    return this.#copying.get(`${host} ${digest}`);
  }

  /** Registers a copy under way; call in the same tick as `copying()` returned nothing. */
  track(host: string, digest: string, copy: Promise<unknown>): void {
    const key = `${host} ${digest}`;
    this.#copying.set(key, copy);
    const forget = () => {
      if (this.#copying.get(key) === copy) this.#copying.delete(key);
    };
    copy.then(forget, forget);
  }
}
