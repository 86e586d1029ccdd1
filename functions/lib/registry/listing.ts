import { CATALOG_SCOPE, repositoryScope, type Scope } from './auth.ts';
import { ProtocolError } from './errors.ts';
import type { Descriptor, ManifestOperations } from './manifests.ts';
import { OCI_INDEX } from './media-types.ts';
import { type RegistryTransport, readLimited } from './transport.ts';

/** Listing: tags and catalog page by page (following Link), and an image's OCI referrers. */

const LIST_BODY_LIMIT = 16 * 1024 * 1024;
const DEFAULT_PAGE_SIZE = 1000;

export interface Referrers {
  descriptors: Descriptor[];
  /** `api` when the registry implements the referrers API, `tag` when read from the `sha256-<hex>` fallback tag. */
  via: 'api' | 'tag';
}

/** The `<url>; rel="next"` target of a Link header. */
export function nextLink(link: string | string[] | undefined): string | undefined {
  const text = Array.isArray(link) ? link.join(', ') : link;
  const match = text ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(text) : null;
  return match?.[1];
}

/** The fallback tag that lists referrers of `digest` where the registry has no referrers API. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

export class ListingOperations {
  readonly #transport: RegistryTransport;
  readonly #manifests: ManifestOperations;
  /** Learnt from the first answer: false once the registry showed it has no referrers API. */
  #referrersApi: boolean | undefined;

  constructor(transport: RegistryTransport, manifests: ManifestOperations) {
    this.#transport = transport;
    this.#manifests = manifests;
  }

  /** Tags of a repository, one page at a time (registries that ignore `n` send one page). */
  async *tags(
    repository: string,
    options: { pageSize?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<string[]> {
    yield* this.#pages<{ tags?: string[] | null }>(
      `/v2/${repository}/tags/list`,
      [repositoryScope(repository, 'pull')],
      `tags of ${repository}`,
      (page) => page.tags ?? [],
      options,
    );
  }

  /** Repositories of the registry, one page at a time. */
  async *catalog(options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<string[]> {
    yield* this.#pages<{ repositories?: string[] | null }>(
      '/v2/_catalog',
      [CATALOG_SCOPE],
      'the catalog',
      (page) => page.repositories ?? [],
      options,
    );
  }

  /** All tags, collected. */
  async allTags(repository: string, signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    for await (const page of this.tags(repository, signal ? { signal } : {})) tags.push(...page);
    return tags;
  }

  /**
   * Referrers of a manifest: the OCI referrers API when the registry has it, else the
   * `sha256-<hex>` tag fallback of OCI 1.1. No referrers → an empty list.
   */
  async referrers(
    repository: string,
    digest: string,
    signal?: AbortSignal,
    options: {
      /**
       * The repository's tags, as the caller listed them a moment ago: a fallback tag not among
       * them is taken as absent without asking (a `sync` lists every repository's tags anyway).
       */
      tags?: ReadonlySet<string> | undefined;
    } = {},
  ): Promise<Referrers> {
    if (this.#referrersApi !== false) {
      const fromApi = await this.#referrersFromApi(repository, digest, signal);
      if (fromApi) return fromApi;
    }
    const tag = referrersTag(digest);
    if (options.tags && !options.tags.has(tag)) return { descriptors: [], via: 'tag' };
    const head = await this.#manifests.head(repository, tag, signal);
    if (!head) return { descriptors: [], via: 'tag' };
    const index = await this.#manifests.get(repository, tag, signal);
    return { descriptors: index.document.manifests ?? [], via: 'tag' };
  }

  async #referrersFromApi(
    repository: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<Referrers | undefined> {
    const response = await this.#transport.send({
      method: 'GET',
      path: `/v2/${repository}/referrers/${digest}`,
      headers: { accept: OCI_INDEX },
      scopes: [repositoryScope(repository, 'pull')],
      expect: [200, 404],
      what: `referrers of ${repository}@${digest}`,
      signal,
    });
    const contentType = String(response.headers['content-type'] ?? '');
    if (response.status === 200 && contentType.startsWith(OCI_INDEX)) {
      this.#referrersApi = true;
      const index = JSON.parse(await readLimited(response.body, LIST_BODY_LIMIT)) as {
        manifests?: Descriptor[];
      };
      return { descriptors: index.manifests ?? [], via: 'api' };
    }
    await response.body.dump();
    // The spec forbids a 404 from a registry that has the API: this one has none. Remember it.
    if (response.status === 404) this.#referrersApi = false;
    return undefined;
  }

  async *#pages<T>(
    path: string,
    scopes: Scope[],
    what: string,
    items: (page: T) => string[],
    options: { pageSize?: number; signal?: AbortSignal },
  ): AsyncGenerator<string[]> {
    let next: string | undefined = path;
    let query: Record<string, string> | undefined = { n: String(options.pageSize ?? DEFAULT_PAGE_SIZE) };
    const seen = new Set<string>();
    while (next !== undefined) {
      if (seen.has(next)) throw new ProtocolError(`${what}: the registry's Link header loops`);
      seen.add(next);
      const response = await this.#transport.send({
        method: 'GET',
        path: next,
        ...(query ? { query } : {}),
        scopes,
        expect: [200],
        what,
        signal: options.signal,
      });
      const page = JSON.parse(await readLimited(response.body, LIST_BODY_LIMIT)) as T;
      yield items(page);
      next = nextLink(response.headers.link);
      query = undefined;
    }
  }
}
