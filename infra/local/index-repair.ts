import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

/**
 * dynalite writes an item's index entries first and the item last, as separate LevelDB writes.
 * A kill in between leaves the item as it was and its indexes half-moved: the entry under its
 * old index key deleted, an entry under the new one written. The item is then missing from the
 * listings of its own status (a QUEUED job nobody lists is a job a restart never drives on), and
 * nothing ever repairs that, unlike DynamoDB's GSIs, which converge.
 *
 * After an unclean stop the local runtime calls this before anything else reads the records:
 * every item whose index entry is missing is put again unchanged, which makes dynalite write the
 * entry. Entries whose item is gone or elsewhere stay: listings re-read every entry's item and
 * skip those (functions/lib/stores/index-listing.ts). Reads every item's keys once, and again
 * the whole of each item it repairs, which it writes; a kill during the repair leaves nothing
 * worse, and the next start repairs again.
 */

export interface IndexRepair {
  /** Items read. */
  items: number;
  /** Items put again because an index entry of theirs was missing. */
  repaired: number;
}

type Item = Record<string, unknown>;

async function* scan(client: DynamoDBDocumentClient, input: ConstructorParameters<typeof ScanCommand>[0]) {
  let startKey: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey }));
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

export async function repairIndexes(client: DynamoDBDocumentClient, tableName: string): Promise<IndexRepair> {
  // The table's own indexes: one made by an older release keeps the older ones.
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => {
    const [hash, range] = (index.KeySchema ?? []).map((key) => key.AttributeName as string);
    return { name: index.IndexName as string, hash: hash as string, range: range as string };
  });
  const entryKey = (item: Item, hash: string, range: string) =>
    JSON.stringify([item.pk, item.sk, item[hash], item[range]]);

  const entries = new Map<string, Set<string>>();
  for (const { name, hash, range } of indexes) {
    const present = new Set<string>();
    for await (const entry of scan(client, {
      TableName: tableName,
      IndexName: name,
      ProjectionExpression: '#pk, #sk, #hash, #range',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#hash': hash, '#range': range },
    })) {
      present.add(entryKey(entry, hash, range));
    }
    entries.set(name, present);
  }

  // Every item's keys and index keys only: a job's whole item (its history) is read again only
  // when it needs repairing. Scanning 10,000 items took ~0.4 s so, against ~0.8–0.9 s whole
  // (docs/architecture.md, "Local runtime").
  const keyNames = ['pk', 'sk', ...indexes.flatMap(({ hash, range }) => [hash, range])];
  const names = Object.fromEntries([...new Set(keyNames)].map((name, i) => [`#k${i}`, name]));
  let items = 0;
  let repaired = 0;
  for await (const keys of scan(client, {
    TableName: tableName,
    ConsistentRead: true,
    ProjectionExpression: Object.keys(names).join(', '),
    ExpressionAttributeNames: names,
  })) {
    items++;
    const missing = indexes.some(
      ({ name, hash, range }) =>
        typeof keys[hash] === 'string' &&
        typeof keys[range] === 'string' &&
        !entries.get(name)?.has(entryKey(keys, hash, range)),
    );
    if (!missing) continue;
    const { Item: item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk: keys.pk, sk: keys.sk }, ConsistentRead: true }),
    );
    if (!item) continue;
    // The same item again: dynalite puts its entries back. Nothing else writes during start-up.
    await client.send(new PutCommand({ TableName: tableName, Item: item }));
    repaired++;
  }
  return { items, repaired };
}
