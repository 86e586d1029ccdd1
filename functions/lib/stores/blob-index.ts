import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { blobKey, HELD_FOR_SECONDS } from './blob-keys.ts';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * Where blobs are in each destination registry, for the pipeline's copy steps (the BlobIndex
 * port of functions/lib/replication/blob-index.ts): per blob one item listing a few
 * repositories that hold it, newest first. Written when a blob is copied, mounted or found
 * present; read before every upload. Entries expire (`expiresAt`, DynamoDB's TTL) unless
 * confirmed again, and a refused mount forgets its repository: it is a hint, and a wrong one
 * costs one failed mount (docs/architecture.md, "Mounts").
 *
 * A store that is its records' only writer (`soleWriter`: the local runtime, whose process
 * runs every job) keeps the items it read or wrote last and answers from them: it wrote every
 * change since. What changes behind its back anyway (the sweeper deleting an expired item)
 * fails its next write's condition, which drops the kept item and reads the table again.
 */

/**
 * The index's part of a blob's item; its claim's attributes (BlobClaimStore) are left as they
 * are by every write here. An empty or missing `repositories`: nobody is known to hold it (the
 * item may be there for a claim alone); no `version`: an item no write of this code made.
 */
interface HoldersItem {
  repositories?: string[];
  version?: number;
  expiresAt: number;
}

/** Lost races for one item are tried again this often, then the hint is left as it is. */
const WRITE_ATTEMPTS = 3;

/**
 * How long an item read by `holders` stands in for the read `remember` and `forget` start with:
 * a copy reads the holders, copies the blob, then remembers it — one GetItem per copied blob
 * spared. A stale stand-in costs its write's condition (the version read) and one fresh read.
 */
const RECENT_READ_MS = 5_000;
const RECENT_READS_KEPT = 256;
/** Items a sole writer keeps (a few hundred bytes each); the least recently used go first. */
const KNOWN_ITEMS_KEPT = 10_000;

export class BlobIndexStore extends TableStore {
  readonly #maxPerBlob: number;
  /** Items `holders` read lately (undefined: there was none), by key: see RECENT_READ_MS. */
  readonly #recent = new Map<string, { item: HoldersItem | undefined; at: number }>();
  /** With `soleWriter`: each item as this store last read or wrote it (undefined: none), by key. */
  readonly #known: Map<string, HoldersItem | undefined> | undefined;

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: { now?: () => number; maxPerBlob?: number; soleWriter?: boolean } = {},
  ) {
    super(client, tableName, options);
    this.#maxPerBlob = options.maxPerBlob ?? 3;
    this.#known = options.soleWriter ? new Map() : undefined;
  }

  /** Keeps an item as last read or written, as the most recently used. */
  #know(key: string, item: HoldersItem | undefined): void {
    const known = this.#known;
    if (!known) return;
    known.delete(key);
    known.set(key, item);
    if (known.size > KNOWN_ITEMS_KEPT) known.delete(known.keys().next().value as string);
  }

  async #read(registry: string, digest: string): Promise<HoldersItem | undefined> {
    const key = blobKey(registry, digest);
    if (this.#known?.has(key.pk)) {
      const item = this.#known.get(key.pk);
      this.#know(key.pk, item);
      return item;
    }
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    // A write of this store that landed while the read was under way knows better.
    if (!this.#known?.has(key.pk)) this.#know(key.pk, Item as HoldersItem | undefined);
    return Item as HoldersItem | undefined;
  }

  async holders(registry: string, digest: string): Promise<string[]> {
    const item = await this.#read(registry, digest);
    if (!this.#known) {
      const { pk: key } = blobKey(registry, digest);
      this.#recent.delete(key); // re-inserted last: the oldest entries go first
      this.#recent.set(key, { item, at: this.now() });
      if (this.#recent.size > RECENT_READS_KEPT)
        this.#recent.delete(this.#recent.keys().next().value as string);
    }
    if (!item?.repositories || item.expiresAt < this.epochSeconds()) return [];
    return [...item.repositories];
  }

  /** The item `holders` read for this blob within RECENT_READ_MS, taken (used once); else a fresh read. */
  async #readForChange(registry: string, digest: string): Promise<HoldersItem | undefined> {
    if (this.#known) return this.#read(registry, digest);
    const { pk: key } = blobKey(registry, digest);
    const recent = this.#recent.get(key);
    this.#recent.delete(key);
    if (recent && this.now() - recent.at <= RECENT_READ_MS) return recent.item;
    return this.#read(registry, digest);
  }

  async remember(registry: string, digest: string, repository: string): Promise<void> {
    await this.#change(registry, digest, (current, item) => {
      // Already the newest, and confirmed recently: spare the write.
      if (current[0] === repository && item && item.expiresAt - this.epochSeconds() > HELD_FOR_SECONDS / 2)
        return undefined;
      return [repository, ...current.filter((r) => r !== repository)].slice(0, this.#maxPerBlob);
    });
  }

  async forget(registry: string, digest: string, repository: string): Promise<void> {
    await this.#change(registry, digest, (current) =>
      current.includes(repository) ? current.filter((r) => r !== repository) : undefined,
    );
  }

  /**
   * Read, change, write back on the version read (no transactions: docs/architecture.md,
   * "Records"). An update, not a put: the item may carry the blob's claim, which stays.
   */
  async #change(
    registry: string,
    digest: string,
    change: (current: string[], item: HoldersItem | undefined) => string[] | undefined,
  ): Promise<void> {
    const key = blobKey(registry, digest);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const item =
        attempt === 0 ? await this.#readForChange(registry, digest) : await this.#read(registry, digest);
      const live = item?.repositories && item.expiresAt >= this.epochSeconds() ? item.repositories : [];
      const next = change(live, item);
      if (next === undefined) return;
      const version = (item?.version ?? 0) + 1;
      const condition =
        item?.version !== undefined
          ? { ConditionExpression: 'version = :read', ExpressionAttributeValues: { ':read': item.version } }
          : { ConditionExpression: 'attribute_not_exists(version)', ExpressionAttributeValues: {} };
      try {
        // An update, not a put (the item may carry a claim). Nobody left: an empty list, which
        // the code before the claim moved here reads too (docs/deploy.md), expiring where it was.
        const held = next.length > 0;
        const written: HoldersItem = {
          repositories: next,
          version,
          expiresAt: held ? this.epochSeconds() + HELD_FOR_SECONDS : (item?.expiresAt ?? 0),
        };
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: `SET repositories = :repositories, version = :version${held ? ', expiresAt = :expiresAt' : ''}`,
            ...condition,
            ExpressionAttributeValues: {
              ...condition.ExpressionAttributeValues,
              ':repositories': written.repositories,
              ':version': written.version,
              ...(held ? { ':expiresAt': written.expiresAt } : {}),
            },
          }),
        );
        this.#know(key.pk, written);
        return;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        this.#known?.delete(key.pk); // changed behind this store's back: read the table again
      }
    }
  }
}
