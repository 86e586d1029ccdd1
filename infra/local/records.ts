import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, ensureTable } from '../../functions/lib/stores/client.ts';
import { type IndexRepair, repairIndexes } from './index-repair.ts';

/**
 * The records (DynamoDB) on this machine: dynalite on disk (LevelDB in `dir`), on 127.0.0.1 at a
 * port the OS picks, with the stores' one table. Table state changes are instant: a kill during
 * dynalite's CREATING window would leave the table stuck for good (FIELD-NOTES). A LOCK file left
 * by a killed process is harmless; a folder a live process holds is refused before dynalite opens
 * it, because dynalite itself would crash this process with an uncaught iterator error.
 *
 * A clean close leaves a marker file in the folder; a start that finds none (the last process
 * was killed) repairs the indexes before handing out the client (index-repair.ts).
 */

/** Written by a clean close, removed at start: its absence means the last stop was a crash. */
export const CLOSED_CLEANLY = 'crossdock-closed-cleanly';

export interface LocalRecordsOptions {
  dir: string;
  tableName?: string;
  region?: string;
}

export interface LocalRecords {
  endpoint: string;
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Present when the last stop was not clean: what the index repair found. */
  repair?: IndexRepair;
  close(): Promise<void>;
}

export class StateFolderInUseError extends Error {
  override name = 'StateFolderInUseError';
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;
/** The LevelDB binding dynalite itself opens the folder with. */
const { Level } = createRequire(require.resolve('dynalite'))('level') as {
  Level: new (path: string) => LevelDatabase;
};

/** Opens and closes the folder's LevelDB: fails when another live process holds its LOCK. */
async function assertFolderFree(dir: string): Promise<void> {
  const db = new Level(dir);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new StateFolderInUseError(`state folder ${dir} is in use by another crossdock`, { cause: error });
    }
    throw error;
  }
  await db.close();
}

export async function startLocalRecords(options: LocalRecordsOptions): Promise<LocalRecords> {
  const tableName = options.tableName ?? 'crossdock';
  await mkdir(options.dir, { recursive: true });
  await assertFolderFree(options.dir);
  const marker = join(options.dir, CLOSED_CLEANLY);
  const closedCleanly = await rm(marker).then(
    () => true,
    () => false,
  );

  const server = dynalite({ path: options.dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDocumentClient({ endpoint, region: options.region ?? 'us-east-1' });
  const close = async () => {
    client.destroy();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
    await writeFile(marker, `${new Date().toISOString()}\n`);
  };

  try {
    await ensureTable(client, tableName); // creates it when missing, and waits for ACTIVE
    if (closedCleanly) return { endpoint, client, tableName, close };
    const repair = await repairIndexes(client, tableName);
    return { endpoint, client, tableName, repair, close };
  } catch (error) {
    // Not closed cleanly either: the marker stays absent, so the next start repairs again.
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
}
