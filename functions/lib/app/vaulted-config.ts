import { type RegistryConfig, registrySchema, type SourceConfig, sourceSchema } from '#config/schema.ts';
import type { ApiConfigStore } from '../api/ports.ts';
import type { ConfigStore } from '../stores/config-store.ts';

/**
 * Deployed, secrets live in Secrets Manager and the records hold only a reference to them
 * (docs/deploy.md). This store sits in front of the config records:
 * on the way in it moves a registry's password and a source's header/query value or HMAC secret
 * into the vault, under `crossdock/registry/<name>` and `crossdock/source/<name>`, and writes
 * `vault:<secret name>` in their place; on the way out it reads them back (cached by the vault),
 * so the API, the webhook and the registry clients see the item as it was given.
 */

export interface SecretVault {
  read(name: string): Promise<string | undefined>;
  write(name: string, value: string): Promise<void>;
  remove(name: string): Promise<void>;
}

export class SecretNotFoundError extends Error {
  override name = 'SecretNotFoundError';
}

const REFERENCE = 'vault:';
const isReference = (value: string) => value.startsWith(REFERENCE);
const registrySecret = (name: string) => `crossdock/registry/${name}`;
const sourceSecret = (name: string) => `crossdock/source/${name}`;

export class VaultedConfigStore implements ApiConfigStore {
  readonly #records: ConfigStore;
  readonly #vault: SecretVault;

  constructor(records: ConfigStore, vault: SecretVault) {
    this.#records = records;
    this.#vault = vault;
  }

  async #resolve(value: string): Promise<string> {
    if (!isReference(value)) return value;
    const name = value.slice(REFERENCE.length);
    const secret = await this.#vault.read(name);
    if (secret === undefined) throw new SecretNotFoundError(`secret ${name} is missing from the vault`);
    return secret;
  }

  async #registryOut(registry: RegistryConfig | undefined): Promise<RegistryConfig | undefined> {
    if (!registry?.credentials) return registry;
    return {
      ...registry,
      credentials: { ...registry.credentials, password: await this.#resolve(registry.credentials.password) },
    };
  }

  async #sourceOut(source: SourceConfig | undefined): Promise<SourceConfig | undefined> {
    if (!source) return source;
    const { auth } = source;
    if ('hmacSecret' in auth)
      return { ...source, auth: { hmacSecret: await this.#resolve(auth.hmacSecret) } };
    return { ...source, auth: { ...auth, value: await this.#resolve(auth.value) } };
  }

  async putRegistry(input: unknown): Promise<RegistryConfig> {
    const registry = registrySchema.parse(input);
    if (!registry.credentials) {
      await this.#records.putRegistry(registry);
      await this.#vault.remove(registrySecret(registry.name));
      return registry;
    }
    const secret = registrySecret(registry.name);
    await this.#vault.write(secret, registry.credentials.password);
    await this.#records.putRegistry({
      ...registry,
      credentials: { ...registry.credentials, password: `${REFERENCE}${secret}` },
    });
    return registry;
  }

  /**
   * Moves secrets that sit in the records in clear — written before the records had a vault (the
   * local runtime kept them inline until it got one) — into the vault, leaving references.
   * Answers what it moved (`registry <name>`, `source <name>`); a second run moves nothing.
   */
  async vaultPlainSecrets(): Promise<string[]> {
    const moved: string[] = [];
    for (const registry of await this.#records.listRegistries()) {
      if (!registry.credentials || isReference(registry.credentials.password)) continue;
      await this.putRegistry(registry);
      moved.push(`registry ${registry.name}`);
    }
    for (const source of await this.#records.listSources()) {
      const { auth } = source;
      if (isReference('hmacSecret' in auth ? auth.hmacSecret : auth.value)) continue;
      await this.putSource(source);
      moved.push(`source ${source.name}`);
    }
    return moved;
  }

  async getRegistry(name: string) {
    return this.#registryOut(await this.#records.getRegistry(name));
  }

  async listRegistries() {
    const registries = await this.#records.listRegistries();
    return Promise.all(registries.map(async (r) => (await this.#registryOut(r)) as RegistryConfig));
  }

  async deleteRegistry(name: string) {
    const deleted = await this.#records.deleteRegistry(name);
    await this.#vault.remove(registrySecret(name));
    return deleted;
  }

  async putSource(input: unknown): Promise<SourceConfig> {
    const source = sourceSchema.parse(input);
    const secret = sourceSecret(source.name);
    const { auth } = source;
    const value = 'hmacSecret' in auth ? auth.hmacSecret : auth.value;
    await this.#vault.write(secret, value);
    const reference = `${REFERENCE}${secret}`;
    await this.#records.putSource({
      ...source,
      auth: 'hmacSecret' in auth ? { hmacSecret: reference } : { ...auth, value: reference },
    });
    return source;
  }

  async getSource(name: string) {
    return this.#sourceOut(await this.#records.getSource(name));
  }

  async listSources() {
    const sources = await this.#records.listSources();
    return Promise.all(sources.map(async (s) => (await this.#sourceOut(s)) as SourceConfig));
  }

  async deleteSource(name: string) {
    const deleted = await this.#records.deleteSource(name);
    await this.#vault.remove(sourceSecret(name));
    return deleted;
  }

  putPolicy(input: unknown) {
    return this.#records.putPolicy(input);
  }
  getPolicy(name: string) {
    return this.#records.getPolicy(name);
  }
  listPolicies() {
    return this.#records.listPolicies();
  }
  deletePolicy(name: string) {
    return this.#records.deletePolicy(name);
  }
  setPolicyEnabled(name: string, enabled: boolean) {
    return this.#records.setPolicyEnabled(name, enabled);
  }
}
