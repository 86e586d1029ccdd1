import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import {
  type PolicyConfig,
  policySchema,
  type RegistryConfig,
  registrySchema,
  type SourceConfig,
  sourceSchema,
} from '#config/schema.ts';
import { isConditionFailed, RecordNotFoundError } from './errors.ts';
import { KeptReads } from './kept-reads.ts';
import { TableStore } from './table-store.ts';

/**
 * Registries, sources and policies as the API and `serve` (the YAML applied at start) keep
 * them: one partition per kind (`config#registry`, …), one item per name, the value validated
 * with the config's zod schemas on the way in (a ZodError for the caller to answer 400 with).
 * Checks across items (a policy naming a registry that exists) are the caller's.
 *
 * Credentials (registry passwords, webhook secrets) are stored as given: the local runtime
 * keeps its records on this machine. The deployed stack stores Secrets Manager references in
 * their place, so that secrets never sit in the table.
 *
 * A store that is its records' only writer (`soleWriter`: the local runtime, whose process owns
 * its state folder and takes every change through its API) keeps a copy of each kind once read
 * and changes it with each write it makes: a job's policy and source lookups then cost no
 * record operation (docs/performance.md, "The local runtime's own cost"). Deployed, the API and
 * the pipeline's functions are separate writers and readers, so every read goes to the table.
 */

const KINDS = { registry: registrySchema, source: sourceSchema, policy: policySchema } as const;
type Kind = keyof typeof KINDS;

export class ConfigStore extends TableStore {
  /** With `soleWriter`: each kind's items by name, as read once and changed by this store since. */
  readonly #copies: KeptReads<Kind, Map<string, unknown>> | undefined;

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: { now?: () => number; soleWriter?: boolean } = {},
  ) {
    super(client, tableName, options);
    this.#copies = options.soleWriter
      ? new KeptReads(async (kind) => new Map((await this.#query(kind)).map((value) => [value.name, value])))
      : undefined;
  }

  /** Changes the kept copy of a kind, if there is one, after a write to the table succeeded. */
  async #changeCopy(kind: Kind, name: string, value: unknown | undefined): Promise<void> {
    const copy = await this.#copies?.ifLoaded(kind);
    if (value === undefined) copy?.delete(name);
    else copy?.set(name, structuredClone(value));
  }

  async #put<K extends Kind>(kind: K, input: unknown): Promise<z.output<(typeof KINDS)[K]>> {
    const value = KINDS[kind].parse(input) as z.output<(typeof KINDS)[K]>;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `config#${kind}`, sk: value.name, value, updatedAt: this.iso() },
      }),
    );
    await this.#changeCopy(kind, value.name, value);
    return value;
  }

  async #get<T>(kind: Kind, name: string): Promise<T | undefined> {
    const copy = this.#copies?.get(kind);
    if (copy) return structuredClone((await copy).get(name)) as T | undefined;
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `config#${kind}`, sk: name },
        ConsistentRead: true,
      }),
    );
    return result.Item?.value as T | undefined;
  }

  /** All items of a kind, by name. */
  async #list<T>(kind: Kind): Promise<T[]> {
    const copy = this.#copies?.get(kind);
    if (!copy) return this.#query(kind) as Promise<T[]>;
    const values = [...(await copy).values()] as { name: string }[];
    return structuredClone(values.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) as T[];
  }

  async #query(kind: Kind): Promise<{ name: string }[]> {
    return (await this.queryPartition(`config#${kind}`)).map((item) => item.value as { name: string });
  }

  /** True when it existed. */
  async #delete(kind: Kind, name: string): Promise<boolean> {
    const result = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `config#${kind}`, sk: name },
        ReturnValues: 'ALL_OLD',
      }),
    );
    await this.#changeCopy(kind, name, undefined);
    return result.Attributes !== undefined;
  }

  putRegistry(input: unknown): Promise<RegistryConfig> {
    return this.#put('registry', input);
  }
  getRegistry(name: string): Promise<RegistryConfig | undefined> {
    return this.#get('registry', name);
  }
  listRegistries(): Promise<RegistryConfig[]> {
    return this.#list('registry');
  }
  deleteRegistry(name: string): Promise<boolean> {
    return this.#delete('registry', name);
  }

  putSource(input: unknown): Promise<SourceConfig> {
    return this.#put('source', input);
  }
  getSource(name: string): Promise<SourceConfig | undefined> {
    return this.#get('source', name);
  }
  listSources(): Promise<SourceConfig[]> {
    return this.#list('source');
  }
  deleteSource(name: string): Promise<boolean> {
    return this.#delete('source', name);
  }

  putPolicy(input: unknown): Promise<PolicyConfig> {
    return this.#put('policy', input);
  }
  getPolicy(name: string): Promise<PolicyConfig | undefined> {
    return this.#get('policy', name);
  }
  listPolicies(): Promise<PolicyConfig[]> {
    return this.#list('policy');
  }
  deletePolicy(name: string): Promise<boolean> {
    return this.#delete('policy', name);
  }

  /** Flips `enabled` in place (answers the policy as it is now); RecordNotFoundError for an unknown name. */
  async setPolicyEnabled(name: string, enabled: boolean): Promise<PolicyConfig> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'config#policy', sk: name },
          UpdateExpression: 'SET #value.enabled = :enabled, updatedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: { ':enabled': enabled, ':at': this.iso() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const policy = result.Attributes?.value as PolicyConfig;
      await this.#changeCopy('policy', name, policy);
      return policy;
    } catch (error) {
      if (isConditionFailed(error))
        throw new RecordNotFoundError(`no policy named "${name}"`, { cause: error });
      throw error;
    }
  }
}
