import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { startLocalRecords } from '../../../infra/local/records.ts';
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

describe('local records (dynalite on disk)', () => {
  it('serves the stores table, ACTIVE with both job indexes, on 127.0.0.1 only', async () => {
    const records = await startLocalRecords({ dir: await tempDir() });
    try {
      const { Table } = await records.client.send(new DescribeTableCommand({ TableName: records.tableName }));

      expect(records.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(['gsi1', 'gsi2']);
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
