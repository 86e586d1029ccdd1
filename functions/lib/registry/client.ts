import { BlobOperations } from './blobs.ts';
import { ListingOperations } from './listing.ts';
import { ManifestOperations } from './manifests.ts';
import { type RegistryEndpoint, RegistryTransport, type TransportOptions } from './transport.ts';

/**
 * One registry: its transport (pool, auth, retry) and the operations on it. Create one per
 * registry and share it; it holds the connection pool and the token cache.
 */
export class RegistryClient {
  readonly transport: RegistryTransport;
  readonly manifests: ManifestOperations;
  readonly blobs: BlobOperations;
  readonly listing: ListingOperations;

  constructor(endpoint: RegistryEndpoint, options: TransportOptions = {}) {
    this.transport = new RegistryTransport(endpoint, options);
    this.manifests = new ManifestOperations(this.transport);
    this.blobs = new BlobOperations(this.transport);
    this.listing = new ListingOperations(this.transport, this.manifests);
  }

  /** The config's name, or `host[:port]`. */
  get name(): string {
    return this.transport.name;
  }

  /** `host[:port]`: blobs can only be mounted between repositories of the same host. */
  get host(): string {
    return this.transport.baseUrl.host;
  }

  /**
   * GET /v2/ with the credentials: the registry answers the distribution API and takes them (a
   * token service is asked for a token of no scope, as `docker login` checks). Throws the
   * transport's typed errors: unavailable, unauthorized, a TLS failure.
   */
  async checkAccess(signal?: AbortSignal): Promise<void> {
    const response = await this.transport.send({
      method: 'GET',
      path: '/v2/',
      scopes: [],
      expect: [200],
      what: 'the API check (GET /v2/)',
      signal,
    });
    await response.body.dump();
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
