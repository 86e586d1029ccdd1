import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
/** The LevelDB binding dynalite itself opens the folder with. */
const { Level } = createRequire(require.resolve('dynalite'))('level') as {
  Level: new (path: string) => LevelDatabase;
};

/**
 * dynalite runs in a worker thread of this process: its request parsing and LevelDB work use
 * another core than the pipeline's event loop (on 2 cores, a job's hand-off waited on it — see
 * docs/architecture.md, "Admission"), and a kill -9 still takes it down with the process. An
 * error dynalite does not catch ends the worker; nothing listens then, so it ends this process
 * too, as it did in-process. The worker is evaluated from a string (dynamic imports work in a
 * CommonJS or an ES module context alike), so the same code runs from the sources and the bundle.
 */
const DYNALITE_THREAD = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { default: dynalite } = await import(workerData.dynaliteUrl);
  const server = dynalite({ path: workerData.dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.on('error', (error) => parentPort.postMessage({ error: String(error && error.message) }));
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
  parentPort.on('message', (message) => {
    if (message !== 'close') return;
    server.close((error) => parentPort.postMessage({ closed: true, error: error ? String(error.message) : undefined }));
  });
})();
`;

interface DynaliteThread {
  port: number;
  close(): Promise<void>;
}

async function startDynaliteThread(dir: string): Promise<DynaliteThread> {
  const worker = new Worker(DYNALITE_THREAD, {
    eval: true,
    workerData: { dynaliteUrl: pathToFileURL(require.resolve('dynalite')).href, dir },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const failed = (error: unknown) => reject(error instanceof Error ? error : new Error(String(error)));
    worker.once('error', failed);
    worker.once('message', (message: { port?: number; error?: string }) => {
      worker.off('error', failed);
      if (message.port !== undefined) resolve(message.port);
      else failed(new Error(`dynalite did not start: ${message.error}`));
    });
  });
  return {
    port,
    async close() {
      const closed = new Promise<void>((resolve, reject) => {
        worker.once('message', (message: { closed?: boolean; error?: string }) =>
          message.error ? reject(new Error(message.error)) : resolve(),
        );
      });
      worker.postMessage('close');
      try {
        await closed;
      } finally {
        await worker.terminate();
      }
    },
  };
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
  await mkdir(options.dir, { recursive: true });
  await assertFolderFree(options.dir);
  const marker = join(options.dir, CLOSED_CLEANLY);
  const closedCleanly = await rm(marker).then(
    () => true,
    () => false,
  );

  const server = await startDynaliteThread(options.dir);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = createDocumentClient({ endpoint, region: options.region ?? 'us-east-1' });
  const close = async () => {
    client.destroy();
    await server.close();
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
    await server.close().catch(() => undefined);
    throw error;
  }
}
