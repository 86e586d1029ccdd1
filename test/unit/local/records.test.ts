import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ensureTable, tableDefinition } from '../../../functions/lib/stores/client.ts';
import {
  JOB_INDEX_KEYS,
  JOB_INDEXES,
  LEGACY_JOB_INDEXES,
} from '../../../functions/lib/stores/job-indexes.ts';
import { toItem } from '../../../functions/lib/stores/job-record.ts';
import { JobStore } from '../../../functions/lib/stores/jobs.ts';
import { RECORDS_SOCKET, startLocalRecords } from '../../../infra/local/records.ts';
import { plantIndexEntry, removeIndexEntry } from '../../support/crash-leftovers.ts';
import { filesContaining } from '../../support/files-containing.ts';
import { listeningTcpPorts } from '../../support/listening-ports.ts';
import { killHard, startChild } from './child-process.ts';
import { tempDir } from './temp-dir.ts';

const recordsModule = new URL('../../../infra/local/records.ts', import.meta.url).href;

/** A process that opened the records in `dir`, wrote one item, and keeps running. */
function childHolding(dir: string) {
  return startChild(
    `
    import { PutCommand } from '@aws-sdk/lib-dynamodb';
    const { startLocalRecords } = await import(${JSON.stringify(recordsModule)});
    const records = await startLocalRecords({ dir: ${JSON.stringify(dir)} });
    await records.client.send(new PutCommand({ TableName: records.tableName, Item: { pk: 'job#1', sk: 'job', status: 'RUNNING' } }));
    console.log('written');
    setInterval(() => {}, 1000);
    `,
    'written',
  );
}

const newJob = (id: string, tag: string) => ({
  id,
  policy: 'p',
  action: 'push' as const,
  sourceRegistry: 'a',
  sourceRepository: 'team/app',
  tag,
  destinationRegistry: 'b',
  destinationRepository: 'team/app',
});

describe('local records (dynalite on disk)', () => {
  it('serves the stores table, ACTIVE with both job indexes, on a unix socket in its 0700 folder and no TCP port', async () => {
    const dir = await tempDir();
    const portsBefore = listeningTcpPorts(process.pid);

    const records = await startLocalRecords({ dir });
    try {
      const { Table } = await records.client.send(new DescribeTableCommand({ TableName: records.tableName }));

      expect(records.socketPath).toBe(join(dir, RECORDS_SOCKET));
      expect((await stat(records.socketPath)).isSocket()).toBe(true);
      expect((await stat(records.socketPath)).mode & 0o777).toBe(0o600);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect(listeningTcpPorts(process.pid)).toEqual(portsBefore);
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(
        Table?.GlobalSecondaryIndexes?.map((index) => [
          index.IndexName,
          index.Projection?.ProjectionType,
        ]).sort(),
      ).toEqual([
        [JOB_INDEXES.byPolicy, 'KEYS_ONLY'],
        [JOB_INDEXES.byStatus, 'KEYS_ONLY'],
      ]);
      expect(records.jobIndexes).toEqual(JOB_INDEXES);
    } finally {
      await records.close();
    }
  });

  it('puts its socket in a private temp folder when the records folder’s path is too long for one', async () => {
    const dir = join(await tempDir(), 'a-folder-name-long-enough'.repeat(4));

    const records = await startLocalRecords({ dir });
    try {
      await records.client.send(new DescribeTableCommand({ TableName: records.tableName }));

      expect(records.socketPath.startsWith(tmpdir())).toBe(true);
      expect((await stat(dirname(records.socketPath))).mode & 0o777).toBe(0o700);
    } finally {
      await records.close();
    }
    await expect(stat(records.socketPath)).rejects.toThrow(/ENOENT/);
  });

  it('compacts the folder so that an overwritten or deleted value is in none of its files, and serves on after', async () => {
    const dir = await tempDir();
    const records = await startLocalRecords({ dir });
    try {
      const put = (pk: string, value: string) =>
        records.client.send(new PutCommand({ TableName: records.tableName, Item: { pk, sk: 'x', value } }));
      await put('overwritten', 'old-value-7f3a');
      await put('overwritten', 'new-value');
      await put('deleted', 'deleted-value-9c1e');
      await records.client.send(
        new DeleteCommand({ TableName: records.tableName, Key: { pk: 'deleted', sk: 'x' } }),
      );
      expect(await filesContaining(dir, 'old-value-7f3a')).not.toEqual([]);

      await records.compact();

      expect(await filesContaining(dir, 'old-value-7f3a')).toEqual([]);
      expect(await filesContaining(dir, 'deleted-value-9c1e')).toEqual([]);
      const { Item } = await records.client.send(
        new GetCommand({ TableName: records.tableName, Key: { pk: 'overwritten', sk: 'x' } }),
      );
      expect(Item?.value).toBe('new-value');
    } finally {
      await records.close();
    }
  });

  it('keeps the older ALL-projected job indexes of a table made before the keys-only ones, and lists through them', async () => {
    // A state folder from a release before 2026-12-01: its table has gsi1 and gsi2.
    const dir = await tempDir();
    const made = await startLocalRecords({ dir });
    await made.client.send(new DeleteTableCommand({ TableName: made.tableName }));
    // dynalite deletes a table after its answer: wait until it is gone.
    await expect
      .poll(() =>
        made.client.send(new DescribeTableCommand({ TableName: made.tableName })).then(
          () => 'there',
          () => 'gone',
        ),
      )
      .toBe('gone');
    const older = tableDefinition(made.tableName);
    await made.client.send(
      new CreateTableCommand({
        ...older,
        GlobalSecondaryIndexes: (['byPolicy', 'byStatus'] as const).map((which) => ({
          IndexName: LEGACY_JOB_INDEXES[which],
          KeySchema: [
            { AttributeName: `${JOB_INDEX_KEYS[which]}pk`, KeyType: 'HASH' },
            { AttributeName: `${JOB_INDEX_KEYS[which]}sk`, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      }),
    );
    await ensureTable(made.client, made.tableName); // waits for ACTIVE
    const job = await new JobStore(made.client, made.tableName, { indexes: LEGACY_JOB_INDEXES }).create(
      newJob('job-older', 'v1'),
    );
    await made.close();

    const records = await startLocalRecords({ dir });
    try {
      expect(records.jobIndexes).toEqual(LEGACY_JOB_INDEXES);
      const jobs = new JobStore(records.client, records.tableName, { indexes: records.jobIndexes });
      expect((await jobs.listUnfinished()).map((j) => j.id)).toEqual([job.id]);
      expect((await jobs.listByPolicy('p')).jobs.map((j) => j.id)).toEqual([job.id]);
    } finally {
      await records.close();
    }
  });

  it('keeps items across close and reopen of the same folder', async () => {
    const dir = await tempDir();
    const first = await startLocalRecords({ dir });
    await first.client.send(
      new PutCommand({ TableName: first.tableName, Item: { pk: 'policy#a', sk: 'policy', enabled: true } }),
    );
    await first.close();

    const second = await startLocalRecords({ dir });
    try {
      const { Item } = await second.client.send(
        new GetCommand({ TableName: second.tableName, Key: { pk: 'policy#a', sk: 'policy' } }),
      );
      expect(Item).toEqual({ pk: 'policy#a', sk: 'policy', enabled: true });
    } finally {
      await second.close();
    }
  });

  it('closes the LevelDB iterator of every query and scan, read to its end or cut at its limit', async () => {
    const records = await startLocalRecords({ dir: await tempDir() });
    try {
      const { client, tableName } = records;
      for (let i = 0; i < 5; i++)
        await client.send(new PutCommand({ TableName: tableName, Item: { pk: 'many', sk: `s${i}` } }));
      const query = (pk: string, limit?: number) =>
        client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ...(limit ? { Limit: limit } : {}),
          }),
        );

      const [all, cut, none] = await Promise.all([query('many'), query('many', 2), query('nothing')]);
      await client.send(new ScanCommand({ TableName: tableName, Limit: 3 }));
      await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: records.jobIndexes.byStatus,
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': `${JOB_INDEX_KEYS.byStatus}pk` },
          ExpressionAttributeValues: { ':s': 'QUEUED' },
          Limit: 1,
        }),
      );

      expect([all.Items?.length, cut.Items?.length, none.Items?.length]).toEqual([5, 2, 0]);
      expect(await records.openIterators()).toBe(0);
    } finally {
      await records.close();
    }
  });

  it('refuses a folder that this process already has open, with a clear error', async () => {
    const dir = await tempDir();
    const first = await startLocalRecords({ dir });
    try {
      await expect(startLocalRecords({ dir })).rejects.toThrow(
        `state folder ${dir} is in use by another crossdock`,
      );
      // The first one is unharmed.
      await first.client.send(new PutCommand({ TableName: first.tableName, Item: { pk: 'a', sk: 'b' } }));
    } finally {
      await first.close();
    }
  });

  it('refuses a folder another live process holds, and opens it once that process was killed', async () => {
    const dir = await tempDir();
    const child = await childHolding(dir);

    await expect(startLocalRecords({ dir })).rejects.toThrow(
      `state folder ${dir} is in use by another crossdock`,
    );

    await killHard(child); // its LOCK file stays behind
    const records = await startLocalRecords({ dir });
    try {
      const { Item } = await records.client.send(
        new GetCommand({ TableName: records.tableName, Key: { pk: 'job#1', sk: 'job' } }),
      );
      expect(Item?.status).toBe('RUNNING');
    } finally {
      await records.close();
    }
  });
});

describe('local records after a kill between an index write and its item write', () => {
  it('lists a job once when the index also holds a stale entry for it (a create retried after a kill)', async () => {
    // A delivery's job was being created when the process died: its index entries were written,
    // the item was not. The registry delivered again after the restart; the same id was created
    // with a later createdAt, so the status index holds two entries for one job.
    const dir = await tempDir();
    const first = await startLocalRecords({ dir });
    const job = await new JobStore(first.client, first.tableName).create(newJob('job-twice', 'v1'));
    await first.close();
    const stale = { ...toItem({ ...job, createdAt: '2020-01-01T00:00:00.000Z' }, 1) };
    await plantIndexEntry(dir, 'crossdock', JOB_INDEXES.byStatus, stale);
    await plantIndexEntry(dir, 'crossdock', JOB_INDEXES.byPolicy, stale);

    const records = await startLocalRecords({ dir });
    try {
      const jobs = new JobStore(records.client, records.tableName);
      expect((await jobs.listUnfinished()).map((j) => j.id)).toEqual(['job-twice']);
      expect((await jobs.listByStatus('QUEUED')).jobs.map((j) => j.id)).toEqual(['job-twice']);
      expect((await jobs.listByPolicy('p')).jobs.map((j) => j.id)).toEqual(['job-twice']);
      // Page by page, the stale entry never makes a second row either.
      const first = await jobs.listByPolicy('p', { limit: 1 });
      const rest = first.cursor
        ? await jobs.listByPolicy('p', { limit: 1, cursor: first.cursor })
        : { jobs: [] };
      expect([...first.jobs, ...rest.jobs].map((j) => j.id)).toEqual(['job-twice']);
    } finally {
      await records.close();
    }
  });

  it('finds a job again whose status entry a kill removed, at the next start', async () => {
    // QUEUED → RUNNING was being written when the process died: the QUEUED entry was deleted and
    // the RUNNING one written, the item still says QUEUED. Without a repair no listing of
    // unfinished jobs shows it, and a restart never drives it on.
    const dir = await tempDir();
    const first = await startLocalRecords({ dir });
    const jobs = new JobStore(first.client, first.tableName);
    const lost = await jobs.create(newJob('job-lost', 'v2'));
    const other = await jobs.create(newJob('job-other', 'v3'));
    await first.close();
    await removeIndexEntry(dir, 'crossdock', JOB_INDEXES.byStatus, toItem(lost, 1));
    await plantIndexEntry(dir, 'crossdock', JOB_INDEXES.byStatus, toItem({ ...lost, status: 'RUNNING' }, 2));

    const records = await startLocalRecords({ dir });
    try {
      const reopened = new JobStore(records.client, records.tableName);
      expect(records.repair).toMatchObject({ repaired: 1 });
      expect((await reopened.listUnfinished()).map((j) => j.id).sort()).toEqual([lost.id, other.id].sort());
      expect((await reopened.listByStatus('RUNNING')).jobs).toEqual([]);
      expect((await reopened.get(lost.id))?.status).toBe('QUEUED');
    } finally {
      await records.close();
    }
  });

  it('starts a new folder without calling its last stop unclean', async () => {
    // A new user's first `npm start` was told "the last stop was not clean".
    const records = await startLocalRecords({ dir: await tempDir() });
    try {
      expect(records.repair).toBeUndefined();
    } finally {
      await records.close();
    }
  });

  it('repairs nothing after a clean close, and says so', async () => {
    const dir = await tempDir();
    const first = await startLocalRecords({ dir });
    await new JobStore(first.client, first.tableName).create(newJob('job-clean', 'v4'));
    await first.close();

    const second = await startLocalRecords({ dir });
    try {
      expect(second.repair).toBeUndefined();
    } finally {
      await second.close();
    }
  });
});

describe('local records under kill -9 at random moments', () => {
  const jobsModule = new URL('../../../functions/lib/stores/jobs.ts', import.meta.url).href;

  /** A process writing jobs as the pipeline does — created with ids from a delivery, moved on to RUNNING and SUCCEEDED — eight at a time, until killed. */
  function childWriting(dir: string) {
    return startChild(
      `
      const { startLocalRecords } = await import(${JSON.stringify(recordsModule)});
      const { JobStore } = await import(${JSON.stringify(jobsModule)});
      const records = await startLocalRecords({ dir: ${JSON.stringify(dir)} });
      const jobs = new JobStore(records.client, records.tableName);
      console.log('writing');
      let next = 0;
      const worker = async () => {
        for (;;) {
          const id = 'job-' + String(next++).padStart(5, '0');
          // The same ids again after every restart, as a registry delivers again what was not answered.
          const job = await jobs.get(id) ?? await jobs.create({ id, policy: 'p', action: 'push', sourceRegistry: 'a',
            sourceRepository: 'team/app', tag: id, destinationRegistry: 'b', destinationRepository: 'team/app' });
          if (job.status === 'QUEUED') await jobs.markRunning(id, 1, 'arn:' + id);
          if (job.status !== 'SUCCEEDED' && next % 3 !== 0) await jobs.recordEnd(id, 'SUCCEEDED');
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      `,
      'writing',
    );
  }

  it('leaves every job listed once, under the status its record holds, after each restart', async () => {
    const dir = await tempDir();
    for (let kill = 0; kill < 8; kill++) {
      const child = await childWriting(dir);
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250));
      await killHard(child);

      const records = await startLocalRecords({ dir });
      try {
        const jobs = new JobStore(records.client, records.tableName);
        const { Items = [] } = await records.client.send(
          new ScanCommand({
            TableName: records.tableName,
            FilterExpression: 'sk = :job',
            ExpressionAttributeValues: { ':job': 'job' },
          }),
        );
        const listed = new Map<string, string[]>();
        for (const status of ['QUEUED', 'RUNNING', 'SUCCEEDED'] as const) {
          let cursor: string | undefined;
          do {
            const page = await jobs.listByStatus(status, { limit: 100, cursor });
            for (const job of page.jobs) listed.set(job.id, [...(listed.get(job.id) ?? []), status]);
            cursor = page.cursor;
          } while (cursor);
        }
        for (const item of Items)
          expect(listed.get(item.id as string), `after kill ${kill + 1}`).toEqual([item.status]);
        expect(listed.size).toBe(Items.length);
      } finally {
        await records.close();
      }
    }
  }, 60_000);
});
