import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, ensureTable, jobIndexesOf } from '../../functions/lib/stores/client.ts';
import type { JobIndexNames } from '../../functions/lib/stores/job-indexes.ts';
import { sendDirectly } from './direct-records.ts';
import { startDynaliteThread } from './dynalite-thread.ts';
import { type IndexRepair, repairIndexes } from './index-repair.ts';

/**
 * The records (DynamoDB) on this machine: dynalite on disk (LevelDB in `dir`), with the stores'
 * one table. Table state changes are instant: a kill during dynalite's CREATING window would
 * leave the table stuck for good (docs/architecture.md, "Local runtime"). A LOCK file left by a killed process is
 * harmless; a folder a live process holds is refused before dynalite opens it, because dynalite
 * itself would crash this process with an uncaught iterator error.
 *
 * Only this process reaches it: its client hands requests to dynalite's thread as messages, and
 * dynalite listens only on a unix socket inside the records folder (0700, the socket 0600),
 * never on a TCP port. dynalite checks no credentials and answers
 * every origin (`Access-Control-Allow-Origin: *`): on a loopback port any local user, and any
 * web page through the browser, could Scan or write the records (docs/security.md).
 *
 * A clean close leaves a marker file in the folder; a start that finds none in a folder that
 * holds a database (the last process was killed) repairs the indexes before handing out the
 * client (index-repair.ts).
 */

/** Written by a clean close, removed at start: its absence means the last stop was a crash. */
export const CLOSED_CLEANLY = 'crossdock-closed-cleanly';

/** The unix socket dynalite listens on, in the records folder. */
export const RECORDS_SOCKET = 'records.sock';

/** A unix socket's path must fit sun_path (108 bytes on Linux, with its terminating NUL). */
const MAX_SOCKET_PATH = 100;

export interface LocalRecordsOptions {
  dir: string;
  tableName?: string;
  region?: string;
}

export interface LocalRecords {
  /** The unix socket dynalite listens on (its only way in). */
  socketPath: string;
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The names of the table's job indexes: a table made by an older release keeps its own. */
  jobIndexes: JobIndexNames;
  /** Present when the last stop was not clean: what the index repair found. */
  repair?: IndexRepair;
  /**
   * Rewrites the folder's LevelDB so that values overwritten or deleted are gone from its files
   * (a secret moved out of the records). Stops dynalite meanwhile: call it before the records
   * are in use. The client stays usable.
   */
  compact(): Promise<void>;
  /** LevelDB iterators open now: none once the queries and scans under way have answered. */
  openIterators(): Promise<number>;
  close(): Promise<void>;
}

export class StateFolderInUseError extends Error {
  override name = 'StateFolderInUseError';
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
  keys(options: { limit: number; reverse?: boolean }): { all(): Promise<string[]> };
  compactRange(start: string, end: string): Promise<void>;
}

const require = createRequire(import.meta.url);
/** The LevelDB binding dynalite itself opens the folder with. */
const { Level } = createRequire(require.resolve('dynalite'))('level') as {
  Level: new (path: string) => LevelDatabase;
};

/**
 * The socket in the records folder; a folder whose path is too long for one gets a private
 * (0700) folder under the OS temp dir instead, removed at close.
 */
async function socketPlace(dir: string): Promise<{ socketPath: string; remove(): Promise<void> }> {
  const inFolder = join(dir, RECORDS_SOCKET);
  if (Buffer.byteLength(inFolder) <= MAX_SOCKET_PATH) return { socketPath: inFolder, remove: async () => {} };
  const own = await mkdtemp(join(tmpdir(), 'crossdock-records-'));
  return { socketPath: join(own, RECORDS_SOCKET), remove: () => rm(own, { recursive: true, force: true }) };
}

/**
 * Compacts the whole key range of the folder's LevelDB (nobody may have it open): the log is
 * flushed and every older version of a key, and every deleted one, is dropped from the files.
 */
async function compactFolder(dir: string): Promise<void> {
  const db = new Level(dir);
  await db.open();
  try {
    const [first] = await db.keys({ limit: 1 }).all();
    const [last] = await db.keys({ limit: 1, reverse: true }).all();
    if (first !== undefined && last !== undefined) await db.compactRange(first, last);
  } finally {
    await db.close();
  }
}

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
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  await chmod(options.dir, 0o700);
  // A folder without a database yet (no LevelDB CURRENT file; the check below makes one): a
  // first start, with no last stop to distrust.
  const firstStart = await access(join(options.dir, 'CURRENT')).then(
    () => false,
    () => true,
  );
  await assertFolderFree(options.dir);
  const marker = join(options.dir, CLOSED_CLEANLY);
  const closedCleanly =
    (await rm(marker).then(
      () => true,
      () => false,
    )) || firstStart;

  const { socketPath, remove: removeSocketPlace } = await socketPlace(options.dir);
  let server = await startDynaliteThread(options.dir, socketPath);
  // Every request goes to the thread (the current one, after a compaction), never over HTTP:
  // the endpoint is a name only.
  const client = sendDirectly(
    createDocumentClient({
      endpoint: 'http://records.crossdock.local',
      region: options.region ?? 'us-east-1',
    }),
    ({ headers, body }) => server.request({ method: 'POST', url: '/', headers, body: Buffer.from(body) }),
  );
  const compact = async () => {
    await server.close();
    await compactFolder(options.dir);
    server = await startDynaliteThread(options.dir, socketPath);
  };
  const close = async () => {
    client.destroy();
    await server.close();
    await removeSocketPlace();
    await writeFile(marker, `${new Date().toISOString()}\n`);
  };

  try {
    await ensureTable(client, tableName); // creates it when missing, and waits for ACTIVE
    const jobIndexes = await jobIndexesOf(client, tableName);
    const openIterators = () => server.openIterators();
    if (closedCleanly) return { socketPath, client, tableName, jobIndexes, compact, openIterators, close };
    const repair = await repairIndexes(client, tableName);
    return { socketPath, client, tableName, jobIndexes, repair, compact, openIterators, close };
  } catch (error) {
    // Not closed cleanly either: the marker stays absent, so the next start repairs again.
    client.destroy();
    await server.close().catch(() => undefined);
    await removeSocketPlace();
    throw error;
  }
}
