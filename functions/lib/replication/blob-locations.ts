/**
 * Where blobs were last seen in each destination registry, so a layer shared by several
 * repositories is mounted (one request, no bytes) instead of copied again. An in-memory hint:
 * a wrong hint costs one failed mount, which falls back to an upload.
 */
export class BlobLocations {
  readonly #byHost = new Map<string, Map<string, string[]>>();
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
}
