import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewJob } from '../../../functions/lib/jobs/job.ts';
import { JOB_INDEX_KEYS, JOB_INDEXES, type JobIndex } from '../../../functions/lib/stores/job-indexes.ts';
import { jobKey, toItem } from '../../../functions/lib/stores/job-record.ts';
import { JobStore } from '../../../functions/lib/stores/jobs.ts';
import { LeaseStore } from '../../../functions/lib/stores/leases.ts';
import { sweepExpired } from '../../../functions/lib/stores/sweeper.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
const start = Date.parse('2025-01-01T00:00:00Z');

beforeAll(async () => {
  local = await startLocalTable();
});
afterAll(() => local.close());

describe('sweepExpired', () => {
  it('deletes expired leases, and keeps everything else', async () => {
    const options = { now: () => start };
    const leases = new LeaseStore(local.client, local.tableName, options);
    const jobs = new JobStore(local.client, local.tableName, options);
    const lease = { destination: 'dc-b', globalLimit: 5, perDestinationLimit: 5 };
    await leases.acquire({ ...lease, jobId: 'short-lease', ttlSeconds: 60 });
    await leases.acquire({ ...lease, jobId: 'long-lease', ttlSeconds: 3600 });
    const job = await jobs.create({
      policy: 'p',
      action: 'push',
      sourceRegistry: 'a',
      sourceRepository: 'r',
      tag: 't',
      destinationRegistry: 'b',
      destinationRepository: 'r',
    });

    // The short lease's two slots and its record.
    expect(await sweepExpired(local.client, local.tableName, new Date(start + 120_000))).toBe(3);
    const exists = async (pk: string, sk: string) =>
      (await local.client.send(new GetCommand({ TableName: local.tableName, Key: { pk, sk } }))).Item !==
      undefined;
    expect(await exists('job#short-lease', 'lease')).toBe(false);
    expect(await exists('job#long-lease', 'lease')).toBe(true);
    expect(await jobs.get(job.id)).toBeDefined();
    expect(
      await new LeaseStore(local.client, local.tableName, { now: () => start + 120_000 }).countActive(),
    ).toBe(1);
    expect(await sweepExpired(local.client, local.tableName, new Date(start + 120_000))).toBe(0);
  });
});

describe('sweepExpired, on job records kept keepDays', () => {
  const DAY = 86_400_000;
  const newJob = (tag: string): NewJob => ({
    policy: 'kept',
    action: 'push',
    sourceRegistry: 'a',
    sourceRepository: 'r',
    tag,
    destinationRegistry: 'b',
    destinationRepository: 'r',
  });
  const indexEntries = async (index: JobIndex, partition: string) =>
    (
      await local.client.send(
        new QueryCommand({
          TableName: local.tableName,
          IndexName: JOB_INDEXES[index],
          KeyConditionExpression: `${JOB_INDEX_KEYS[index]}pk = :p`,
          ExpressionAttributeValues: { ':p': partition },
        }),
      )
    ).Items ?? [];

  it('deletes a finished job older than keepDays with its index entries, and never a queued, running or retried one', async () => {
    let clock = start;
    const jobs = new JobStore(local.client, local.tableName, { now: () => clock, keepDays: 30 });
    const finished = await jobs.create(newJob('finished'));
    await jobs.markRunning(finished.id, 1, 'arn:finished-1');
    await jobs.recordEnd(finished.id, 'SUCCEEDED');
    const queued = await jobs.create(newJob('queued'));
    const running = await jobs.create(newJob('running'));
    await jobs.markRunning(running.id, 1, 'arn:running-1');
    const retried = await jobs.create(newJob('retried'));
    await jobs.recordEnd(retried.id, 'FAILED');
    await jobs.retry(retried.id);
    const recent = await jobs.create(newJob('recent'));
    clock = start + 20 * DAY;
    await jobs.recordEnd(recent.id, 'CANCELLED');

    clock = start + 31 * DAY;
    await sweepExpired(local.client, local.tableName, new Date(clock));

    expect(await jobs.get(finished.id)).toBeUndefined();
    const policyIndex = await indexEntries('byPolicy', 'policy#kept');
    expect(policyIndex.map((item) => item.id)).not.toContain(finished.id);
    expect(await indexEntries('byStatus', 'status#SUCCEEDED')).toEqual([]);
    expect((await jobs.get(queued.id))?.status).toBe('QUEUED');
    expect((await jobs.get(running.id))?.status).toBe('RUNNING');
    expect((await jobs.get(retried.id))?.status).toBe('QUEUED');
    expect((await jobs.get(recent.id))?.status).toBe('CANCELLED');
    expect(policyIndex).toHaveLength(4);
  });

  it('never deletes an unfinished job, even one that carries an expired expiresAt', async () => {
    const jobs = new JobStore(local.client, local.tableName, { now: () => start });
    const job = await jobs.create(newJob('stray-expiry'));
    await local.client.send(
      new PutCommand({ TableName: local.tableName, Item: { ...toItem(job, 2), expiresAt: 1 } }),
    );

    await sweepExpired(local.client, local.tableName, new Date(start + 365 * DAY));

    const item = await local.client.send(new GetCommand({ TableName: local.tableName, Key: jobKey(job.id) }));
    expect(item.Item?.status).toBe('QUEUED');
  });
});
