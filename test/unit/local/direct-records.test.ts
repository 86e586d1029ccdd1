import type { AddressInfo } from 'node:net';
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, ensureTable } from '../../../functions/lib/stores/client.ts';
import { JOB_INDEXES } from '../../../functions/lib/stores/job-indexes.ts';
import { sendDirectly } from '../../../infra/local/direct-records.ts';

/**
 * The local runtime's records client skips the SDK's pipeline (infra/local/direct-records.ts):
 * each operation the stores use must answer through it exactly as through the SDK — same items,
 * same keys, same exception classes. Both clients talk to one dynalite here.
 */
describe('the direct records client', () => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let sdk: DynamoDBDocumentClient;
  let direct: DynamoDBDocumentClient;
  const TableName = 'direct-records';

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    sdk = createDocumentClient({ endpoint });
    direct = sendDirectly(createDocumentClient({ endpoint }), async ({ headers, body }) => {
      const response = await fetch(endpoint, { method: 'POST', headers, body });
      return { statusCode: response.status, body: new Uint8Array(await response.arrayBuffer()) };
    });
    await ensureTable(direct, TableName);
  });

  afterAll(async () => {
    sdk?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const without$metadata = (output: object) => {
    const { $metadata: _m, ...rest } = output as { $metadata?: unknown };
    return rest;
  };

  it('writes and reads items as the SDK does: nested lists and maps, numbers, booleans, undefined left out', async () => {
    const item = {
      pk: 'job#1',
      sk: 'job',
      version: 3,
      cancelled: false,
      history: [{ at: 't', status: 'QUEUED', attempt: 1 }],
      blobs: { copied: 2, mounted: 0 },
      gone: undefined,
      gsi1pk: 'p',
      gsi1sk: '2026#1',
    };
    await direct.send(new PutCommand({ TableName, Item: item }));

    const viaDirect = await direct.send(new GetCommand({ TableName, Key: { pk: 'job#1', sk: 'job' } }));
    const viaSdk = await sdk.send(new GetCommand({ TableName, Key: { pk: 'job#1', sk: 'job' } }));

    expect(without$metadata(viaDirect)).toEqual(without$metadata(viaSdk));
    expect(viaDirect.Item).toEqual({ ...item, gone: undefined });
    expect(viaDirect.Item && 'gone' in viaDirect.Item).toBe(false);
  });

  it('updates with expressions and answers the new item; a failed condition is the SDK’s ConditionalCheckFailedException', async () => {
    const update = (client: DynamoDBDocumentClient, version: number) =>
      client.send(
        new UpdateCommand({
          TableName,
          Key: { pk: 'job#1', sk: 'job' },
          UpdateExpression: 'SET history = list_append(history, :entry) ADD version :one',
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':entry': [{ status: 'RUNNING' }], ':one': 1, ':version': version },
          ReturnValues: 'ALL_NEW',
        }),
      );

    const updated = await update(direct, 3);

    expect(updated.Attributes).toMatchObject({
      version: 4,
      history: [{ status: 'QUEUED' }, { status: 'RUNNING' }],
    });
    const refused = await update(direct, 3).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConditionalCheckFailedException);
    expect((refused as Error).name).toBe('ConditionalCheckFailedException');
  });

  it('queries an index page by page, and batch-gets, with the same keys and items as the SDK', async () => {
    for (let i = 2; i <= 5; i++)
      await direct.send(
        new PutCommand({ TableName, Item: { pk: `job#${i}`, sk: 'job', gsi1pk: 'p', gsi1sk: `2026#${i}` } }),
      );
    const page = (client: DynamoDBDocumentClient, start?: Record<string, unknown>) =>
      client.send(
        new QueryCommand({
          TableName,
          IndexName: JOB_INDEXES.byPolicy,
          KeyConditionExpression: 'gsi1pk = :p',
          ExpressionAttributeValues: { ':p': 'p' },
          ScanIndexForward: false,
          Limit: 2,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );

    const first = await page(direct);
    const second = await page(direct, first.LastEvaluatedKey);

    expect(without$metadata(first)).toEqual(without$metadata(await page(sdk)));
    expect(without$metadata(second)).toEqual(without$metadata(await page(sdk, first.LastEvaluatedKey)));
    expect([...(first.Items ?? []), ...(second.Items ?? [])].map((item) => item.pk)).toEqual([
      'job#5',
      'job#4',
      'job#3',
      'job#2',
    ]);
    const keys = [
      { pk: 'job#2', sk: 'job' },
      { pk: 'job#9', sk: 'job' },
    ];
    const batch = await direct.send(new BatchGetCommand({ RequestItems: { [TableName]: { Keys: keys } } }));
    expect(batch.Responses?.[TableName]?.map((item) => item.pk)).toEqual(['job#2']);
  });

  it('deletes, scans, and describes tables; a missing table is the SDK’s ResourceNotFoundException', async () => {
    await direct.send(new DeleteCommand({ TableName, Key: { pk: 'job#5', sk: 'job' } }));
    const scanned = await direct.send(new ScanCommand({ TableName }));
    expect(scanned.Items?.map((item) => item.pk).sort()).toEqual(['job#1', 'job#2', 'job#3', 'job#4']);

    const described = await direct.send(new DescribeTableCommand({ TableName }));
    expect(described.Table?.TableStatus).toBe('ACTIVE');
    const missing = await direct
      .send(new DescribeTableCommand({ TableName: 'none' }))
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });
});
