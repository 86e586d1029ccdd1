import { DEFAULT_READ_IDLE_TIMEOUT_SECONDS } from '#config/defaults.ts';
import type { RegistryConfig } from '#config/schema.ts';
import type { Credentials } from '#registry/auth.ts';
import { RegistryClient } from '#registry/client.ts';
import { type RequestBudget, RequestRateLimiter } from '#registry/rate-limiter.ts';

/**
 * Registry clients for the functions, by the config's registry name, kept for the life of the
 * process (a warm Lambda reuses pools and tokens). Only registries in the records are contacted.
 * Credentials come with the registry (its password read from the vault by the config store) or
 * from a secret (`credentialsSecret` names a secret holding `{"username","password"}`).
 */

export type StoredRegistry = RegistryConfig & { credentialsSecret?: string };

export interface RegistrySources {
  registry(name: string): Promise<StoredRegistry | undefined>;
  secret?(name: string): Promise<string | undefined>;
  /**
   * The request budget of a registry with a `rateLimit`, shared with other processes
   * (deployed: stores/request-budgets.ts). Unset: one per registry in this process, kept
   * across the clients' re-creation.
   */
  budget?(registry: string, requestsPerSecond: number): RequestBudget;
}

export class UnknownRegistryError extends Error {
  override name = 'UnknownRegistryError';
}

/** A registry names a caFile whose certificates were never loaded (it came in without caCertificates). */
export class CaCertificatesMissingError extends Error {
  override name = 'CaCertificatesMissingError';
}

const CLIENT_TTL_MS = 5 * 60_000;

export class RegistryClientCache {
  readonly #sources: RegistrySources;
  readonly #clients = new Map<string, { client: Promise<RegistryClient>; createdAt: number }>();
  readonly #budgets = new Map<string, RequestBudget>();

  constructor(sources: RegistrySources) {
    this.#sources = sources;
  }

  /** A client for the named registry; re-read after a few minutes, so edited credentials apply. */
  client(name: string): Promise<RegistryClient> {
    const cached = this.#clients.get(name);
    if (cached && Date.now() - cached.createdAt < CLIENT_TTL_MS) return cached.client;
    const client = this.#create(name);
    this.#clients.set(name, { client, createdAt: Date.now() });
    client.catch(() => this.#clients.delete(name));
    if (cached) cached.client.then((old) => old.close()).catch(() => undefined);
    return client;
  }

  async #create(name: string): Promise<RegistryClient> {
    const registry = await this.#sources.registry(name);
    if (!registry) throw new UnknownRegistryError(`registry "${name}" is not configured`);
    let credentials: Credentials | undefined = registry.credentials;
    if (!credentials && registry.credentialsSecret && this.#sources.secret) {
      const text = await this.#sources.secret(registry.credentialsSecret);
      const parsed = text ? (JSON.parse(text) as Partial<Credentials>) : {};
      if (parsed.username && parsed.password !== undefined)
        credentials = { username: parsed.username, password: parsed.password };
    }
    // A request never reads a file a registry entry names: caFile is read when a config file is
    // loaded (serve, apply, sync), which fills in caCertificates.
    if (registry.caFile !== undefined && registry.caCertificates === undefined) {
      throw new CaCertificatesMissingError(
        `registry "${name}" names caFile but its certificates were not loaded: ` +
          'give them as caCertificates (PEM), or apply the config file that names the caFile',
      );
    }
    return new RegistryClient({
      url: registry.url,
      name: registry.name,
      credentials,
      insecure: registry.insecure === true,
      ca: registry.caCertificates,
      budget: registry.rateLimit && this.#budget(name, registry.rateLimit.requestsPerSecond),
      readIdleTimeoutSeconds: registry.readIdleTimeoutSeconds ?? DEFAULT_READ_IDLE_TIMEOUT_SECONDS,
      allowLinkLocal: registry.allowLinkLocal === true,
    });
  }

  #budget(name: string, requestsPerSecond: number): RequestBudget {
    const key = `${name}\n${requestsPerSecond}`;
    let budget = this.#budgets.get(key);
    if (!budget) {
      budget = this.#sources.budget?.(name, requestsPerSecond) ?? new RequestRateLimiter(requestsPerSecond);
      this.#budgets.set(key, budget);
    }
    return budget;
  }

  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map(async (c) => (await c.client.catch(() => undefined))?.close()));
  }
}
