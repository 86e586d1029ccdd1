import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
