import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidCursorError, StoreError } from './errors.ts';

/**
 * Newest-first listings over a GSI, paginated with an opaque cursor.
 *
 * An index entry and its item are separate writes, so an index can hold entries that are not
 * the item's current ones: DynamoDB's GSIs lag their items (an item can briefly show under its
 * old and its new key), and dynalite writes the entries before the item, so a kill in between
 * leaves an entry for a write that never happened (docs/architecture.md, "Records"). The index
 * only says where to look: each page is re-read from the table (consistent BatchGet, each key
 * once) and an entry counts only when its item exists and files itself under exactly that
 * entry's index keys now. So a listing shows every item at most once, in its current place,
 * whatever stale or duplicate entries the index holds.
 */

type Key = Record<string, string>;

export interface Page<T> {
  items: T[];
  /** Present when more may follow: pass it back to get the next page. */
  cursor?: string;
}

export interface IndexQuery {
  tableName: string;
  /** The index's name in the table. */
  indexName: string;
  /** Its key attributes' prefix (job-indexes.ts JOB_INDEX_KEYS): `${keys}pk`, `${keys}sk`. */
  keys: 'gsi1' | 'gsi2';
  partition: string;
  limit: number;
  cursor?: string | undefined;
  /** Decides on the item as it is now. */
  matches: (item: Record<string, unknown>) => boolean;
}

const encodeCursor = (key: Key) => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(cursor: string, keys: string, partition: string): Key {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('the cursor is not one this listing gave');
  }
  const names = ['pk', 'sk', `${keys}pk`, `${keys}sk`];
  const valid =
    typeof key === 'object' &&
    key !== null &&
    Object.keys(key).length === names.length &&
    names.every((name) => typeof (key as Key)[name] === 'string') &&
    (key as Key)[`${keys}pk`] === partition;
  if (!valid) throw new InvalidCursorError('the cursor is not one this listing gave');
  return key as Key;
}

const itemKey = (key: Key | Record<string, unknown>) => `${key.pk}\n${key.sk}`;

/** The entry is where its item files itself now (not a stale or duplicate entry). */
function isCurrentEntry(
  item: Record<string, unknown> | undefined,
  entry: Key,
  keys: string,
): item is Record<string, unknown> {
  return (
    item !== undefined && item[`${keys}pk`] === entry[`${keys}pk`] && item[`${keys}sk`] === entry[`${keys}sk`]
  );
}

/**
 * Reads items by key, consistently, in chunks of 100, retrying unprocessed keys. A key listed
 * twice is asked for once (DynamoDB refuses a BatchGet that names a key twice).
 */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: Key[],
): Promise<Map<string, Record<string, unknown>>> {
  const unique = [...new Map(keys.map((key) => [itemKey(key), { pk: key.pk, sk: key.sk } as Key])).values()];
  const found = new Map<string, Record<string, unknown>>();
  for (let start = 0; start < unique.length; start += 100) {
    let pending: Key[] = unique.slice(start, start + 100);
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
      const result = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[tableName] ?? []) found.set(itemKey(item), item);
      pending = (result.UnprocessedKeys?.[tableName]?.Keys as Key[] | undefined) ?? [];
    }
  }
  return found;
}

export async function listIndex(
  client: DynamoDBDocumentClient,
  query: IndexQuery,
): Promise<Page<Record<string, unknown>>> {
  const { keys, partition, limit } = query;
  if (!Number.isInteger(limit) || limit < 1)
    throw new StoreError(`limit must be a whole number ≥ 1, not ${limit}`);
  const names = ['pk', 'sk', `${keys}pk`, `${keys}sk`];
  const items: Record<string, unknown>[] = [];
  let startKey: Key | undefined =
    query.cursor === undefined ? undefined : decodeCursor(query.cursor, keys, partition);
  for (;;) {
    const page = await client.send(
      new QueryCommand({
        TableName: query.tableName,
        IndexName: query.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: {
          '#pk': `${keys}pk`,
          ...Object.fromEntries(names.map((name, i) => [`#k${i}`, name])),
        },
        ExpressionAttributeValues: { ':pk': partition },
        // The entries only say where to look (the items are read below): their keys are all we take.
        ProjectionExpression: names.map((_, i) => `#k${i}`).join(', '),
        ScanIndexForward: false,
        Limit: limit - items.length,
        ExclusiveStartKey: startKey,
      }),
    );
    const entries = (page.Items ?? []).map(
      (entry) => Object.fromEntries(names.map((n) => [n, entry[n]])) as Key,
    );
    const current = await batchGet(client, query.tableName, entries);
    for (const [position, entry] of entries.entries()) {
      const item = current.get(itemKey(entry));
      if (!isCurrentEntry(item, entry, keys) || !query.matches(item)) continue;
      items.push(item);
      if (items.length === limit) {
        const more = position < entries.length - 1 || page.LastEvaluatedKey !== undefined;
        return more ? { items, cursor: encodeCursor(entry) } : { items };
      }
    }
    if (page.LastEvaluatedKey === undefined) return { items };
    startKey = page.LastEvaluatedKey as Key;
  }
}
