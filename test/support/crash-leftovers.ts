import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { marshall } from '@aws-sdk/util-dynamodb';
import { CLOSED_CLEANLY } from '../../infra/local/records.ts';

/**
 * What a kill -9 leaves in the local records, made on purpose: dynalite writes an item's index
 * entries before the item itself, so a kill in between leaves index entries of a write that
 * never happened, or an item whose own entry is gone. These helpers edit the index of a records
 * folder that no process has open (dynalite's own LevelDB and key format), and remove the marker
 * of a clean close, as a kill would.
 */

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
}

const require = createRequire(import.meta.url);
const dynaliteRequire = createRequire(require.resolve('dynalite'));
const { Level } = dynaliteRequire('level') as {
  Level: new (path: string, options: { valueEncoding: string }) => LevelDatabase;
};
const { createIndexKey } = dynaliteRequire('./db/index.js') as {
  createIndexKey(item: unknown, table: unknown, keySchema: unknown): string;
};

interface TableDescription {
  GlobalSecondaryIndexes: { IndexName: string; KeySchema: unknown }[];
}

async function editIndex(
  dir: string,
  tableName: string,
  indexName: string,
  edit: (db: LevelDatabase, key: string, entry: unknown) => Promise<void>,
  item: object,
): Promise<void> {
  const db = new Level(dir, { valueEncoding: 'json' });
  await db.open();
  try {
    const table = (await db.get(`table~${tableName}`)) as TableDescription;
    const index = table.GlobalSecondaryIndexes.find((candidate) => candidate.IndexName === indexName);
    if (!index) throw new Error(`table ${tableName} has no index ${indexName}`);
    const entry = marshall(item as Record<string, unknown>, { removeUndefinedValues: true });
    const key = createIndexKey(entry, table, index.KeySchema);
    await edit(db, `index-global~${tableName}~${indexName}~${key}`, entry);
  } finally {
    await db.close();
  }
  await rm(join(dir, CLOSED_CLEANLY), { force: true });
}

/** Writes an index entry for `item` (its pk/sk and index keys) without touching the item. */
export const plantIndexEntry = (dir: string, tableName: string, indexName: string, item: object) =>
  editIndex(dir, tableName, indexName, (db, key, entry) => db.put(key, entry), item);

/** Deletes the index entry that `item` (as the table holds it) has. */
export const removeIndexEntry = (dir: string, tableName: string, indexName: string, item: object) =>
  editIndex(dir, tableName, indexName, (db, key) => db.del(key), item);
