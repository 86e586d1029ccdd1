import { createHash } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { type Poller, type PollerOptions, startPoller } from '../../../infra/local/poller.ts';
import { type LocalQueues, startLocalQueues } from '../../../infra/local/queues.ts';
import { tempDir } from './temp-dir.ts';

const VISIBILITY_SECONDS = 1;

async function openQueues(): Promise<LocalQueues> {
  const queues = await startLocalQueues({
    dataDir: await tempDir(),
    visibilityTimeoutSeconds: VISIBILITY_SECONDS,
  });
  onTestFinished(() => queues.close());
  return queues;
}

function poll(
  queues: LocalQueues,
  handler: PollerOptions['handler'],
  options: Partial<PollerOptions> = {},
): Poller {
  const poller = startPoller({
    client: queues.client,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    handler,
    concurrency: 1,
    batchSize: 10,
    waitTimeSeconds: 1,
    logger: { warn: () => undefined, error: () => undefined },
    ...options,
  });
  onTestFinished(() => poller.stop());
  return poller;
}

async function send(queues: LocalQueues, body: string, delaySeconds?: number): Promise<string> {
  const { MessageId } = await queues.client.send(
    new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: body, DelaySeconds: delaySeconds }),
  );
  return MessageId ?? '';
}

/** Visible + in flight + delayed: what is still in the queue. */
async function messagesLeft(queues: LocalQueues): Promise<number> {
  const { Attributes } = await queues.client.send(
    new GetQueueAttributesCommand({ QueueUrl: queues.queueUrl, AttributeNames: ['All'] }),
  );
  const counts: Record<string, string | undefined> = Attributes ?? {};
  return [
    'ApproximateNumberOfMessages',
    'ApproximateNumberOfMessagesNotVisible',
    'ApproximateNumberOfMessagesDelayed',
  ]
    .map((name) => Number(counts[name] ?? 0))
    .reduce((a, b) => a + b, 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('poller (Lambda SQS event source)', () => {
  it('hands the handler records shaped as Lambda builds them, then deletes them', async () => {
    const queues = await openQueues();
    const sentAt = Date.now();
    const { MessageId } = await queues.client.send(
      new SendMessageCommand({
        QueueUrl: queues.queueUrl,
        MessageBody: '{"jobId":"j1","attempt":1}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'push' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('bytes') },
        },
      }),
    );
    const events: SQSEvent[] = [];

    poll(queues, async (event) => {
      events.push(event);
    });
    await vi.waitFor(() => expect(events).toHaveLength(1), { timeout: 5000 });

    const record = events[0]?.Records[0] as SQSRecord;
    expect(events[0]?.Records).toHaveLength(1);
    expect(record).toMatchObject({
      messageId: MessageId,
      body: '{"jobId":"j1","attempt":1}',
      md5OfBody: createHash('md5').update('{"jobId":"j1","attempt":1}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:crossdock-jobs',
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1', SenderId: '000000000000' },
      messageAttributes: {
        kind: { dataType: 'String', stringValue: 'push', stringListValues: [], binaryListValues: [] },
        blob: { dataType: 'Binary', binaryValue: Buffer.from('bytes').toString('base64') },
      },
    });
    expect(record.receiptHandle).not.toBe('');
    expect(record.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(record.attributes.SentTimestamp),
    );
    await vi.waitFor(async () => expect(await messagesLeft(queues)).toBe(0));
  });

  it('never runs more than `concurrency` handlers at once', async () => {
    const queues = await openQueues();
    for (let i = 0; i < 12; i++) await send(queues, `job ${i}`);
    let active = 0;
    let mostActive = 0;
    let handled = 0;

    poll(
      queues,
      async (event) => {
        active++;
        mostActive = Math.max(mostActive, active);
        await sleep(100);
        active--;
        handled += event.Records.length;
      },
      { concurrency: 3, batchSize: 1 },
    );
    await vi.waitFor(() => expect(handled).toBe(12), { timeout: 10_000 });

    expect(mostActive).toBe(3);
  });

  it('redelivers only the items a handler reports as failed, after the visibility timeout', async () => {
    const queues = await openQueues();
    for (const body of ['a', 'b', 'c']) await send(queues, body);
    const deliveries: { body: string; receiveCount: string; at: number }[] = [];

    poll(queues, async (event): Promise<SQSBatchResponse> => {
      for (const record of event.Records) {
        deliveries.push({
          body: record.body,
          receiveCount: record.attributes.ApproximateReceiveCount,
          at: Date.now(),
        });
      }
      const failed = event.Records.filter(
        (record) => record.body === 'b' && record.attributes.ApproximateReceiveCount === '1',
      );
      return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
    });
    await vi.waitFor(() => expect(deliveries).toHaveLength(4), { timeout: 5000 });
    await vi.waitFor(async () => expect(await messagesLeft(queues)).toBe(0));

    expect(deliveries.map((delivery) => `${delivery.body}${delivery.receiveCount}`).sort()).toEqual([
      'a1',
      'b1',
      'b2',
      'c1',
    ]);
    const [first, again] = deliveries.filter((delivery) => delivery.body === 'b');
    expect((again?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(VISIBILITY_SECONDS * 1000 - 100);
  });

  it('redelivers the whole batch when the handler throws', async () => {
    const queues = await openQueues();
    for (const body of ['x', 'y']) await send(queues, body);
    const batches: string[][] = [];

    poll(queues, async (event) => {
      batches.push(
        event.Records.map((record) => `${record.body}${record.attributes.ApproximateReceiveCount}`),
      );
      if (batches.length === 1) throw new Error('the registry is down');
    });
    await vi.waitFor(() => expect(batches.flat()).toHaveLength(4), { timeout: 5000 });
    await vi.waitFor(async () => expect(await messagesLeft(queues)).toBe(0));

    expect(batches.flat().sort()).toEqual(['x1', 'x2', 'y1', 'y2']);
  });

  it('redelivers the whole batch when the handler names an item that is not in it', async () => {
    const queues = await openQueues();
    await send(queues, 'only');
    const receiveCounts: string[] = [];

    poll(queues, async (event) => {
      receiveCounts.push(...event.Records.map((record) => record.attributes.ApproximateReceiveCount));
      return receiveCounts.length === 1
        ? { batchItemFailures: [{ itemIdentifier: 'no-such-id' }] }
        : undefined;
    });
    await vi.waitFor(() => expect(receiveCounts).toEqual(['1', '2']), { timeout: 5000 });
  });

  it('delivers a message sent with DelaySeconds once the delay has passed', async () => {
    const queues = await openQueues();
    const sentAt = Date.now();
    await send(queues, 'later', 1);
    let handledAt = 0;

    poll(queues, async () => {
      handledAt = Date.now();
    });
    await vi.waitFor(() => expect(handledAt).toBeGreaterThan(0), { timeout: 5000 });

    expect(handledAt - sentAt).toBeGreaterThanOrEqual(1000 - 50);
  });

  it('stop() receives nothing more and waits for the handlers in flight', async () => {
    const queues = await openQueues();
    await send(queues, 'slow');
    let started = false;
    let finished = false;
    let calls = 0;
    const poller = poll(queues, async () => {
      calls++;
      started = true;
      await sleep(300);
      finished = true;
    });
    await vi.waitFor(() => expect(started).toBe(true), { timeout: 5000 });

    await poller.stop();
    const finishedWhenStopped = finished;
    await send(queues, 'after stop');
    await sleep(300);

    expect(finishedWhenStopped).toBe(true);
    expect(calls).toBe(1);
    expect(await messagesLeft(queues)).toBe(1); // 'slow' deleted, 'after stop' untouched
  });
});
