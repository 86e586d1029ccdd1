import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendDirectly } from '../../../infra/local/direct-queues.ts';
import { inMemoryHandler } from '../../../infra/local/in-memory-handler.ts';
import { loadFauxqsInternals } from '../../../infra/local/queues.ts';

/**
 * The local runtime's queue client calls fauxqs's actions for a job's path instead of going
 * through the SDK (infra/local/direct-queues.ts): each command must answer through it exactly as
 * through the SDK — same fields, binary attributes as bytes, the SDK's exception classes. Both
 * clients use one fauxqs here, each its own queue.
 */
describe('the direct queue client', () => {
  let sdk: SQSClient;
  let direct: SQSClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const { SqsStore, SnsStore, S3Store, SqsError, actions } = await loadFauxqsInternals();
    const sqsStore = new SqsStore();
    const app = buildApp({
      logger: false,
      defaultRegion: 'us-east-1',
      stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } as never,
    });
    await app.ready();
    const client = () =>
      new SQSClient({
        region: 'us-east-1',
        endpoint: 'http://sqs.us-east-1.localhost',
        useQueueUrlAsEndpoint: false,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        requestHandler: inMemoryHandler(app),
      });
    sdk = client();
    direct = sendDirectly(client(), sqsStore, actions, (error) => error instanceof SqsError);
    close = () => app.close();
  });
  afterAll(() => close());

  let queues = 0;
  const newQueue = async () => {
    const { QueueUrl } = await sdk.send(new CreateQueueCommand({ QueueName: `direct-${++queues}` }));
    return QueueUrl as string;
  };

  /** What both clients answer, with the values that differ by nature (ids, handles) as their kind. */
  const shape = (answer: object) =>
    JSON.parse(
      JSON.stringify(answer, (key, value) => {
        if (key === '$metadata') return undefined;
        if (['MessageId', 'ReceiptHandle', 'Id'].includes(key)) return typeof value;
        if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
        if (['SentTimestamp', 'ApproximateFirstReceiveTimestamp'].includes(key)) return typeof value;
        return value;
      }),
    );

  /** One message's round trip — send, batch send, receive, delete, batch delete — answers kept. */
  async function roundTrip(client: SQSClient) {
    const QueueUrl = await newQueue();
    const MessageAttributes = {
      kind: { DataType: 'String', StringValue: 'job' },
      blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 254, 255]) },
    };
    const sent = await client.send(
      new SendMessageCommand({ QueueUrl, MessageBody: '{"jobId":"a"}', MessageAttributes }),
    );
    const batch = await client.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'b', MessageBody: '{"jobId":"b"}' },
          { Id: 'c', MessageBody: '{"jobId":"c"}', MessageAttributes },
        ],
      }),
    );
    const received = await client.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const [first, ...rest] = received.Messages ?? [];
    const deleted = await client.send(
      new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first?.ReceiptHandle }),
    );
    const deletedBatch = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [
          ...rest.map((message, i) => ({ Id: `m${i}`, ReceiptHandle: message.ReceiptHandle })),
          { Id: 'gone', ReceiptHandle: 'no-such-handle' },
        ],
      }),
    );
    const left = await sdk.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return { sent, batch, received, deleted, deletedBatch, left: left.Attributes };
  }

  it('answers a message’s round trip as the SDK does, binary attributes as bytes', async () => {
    const viaSdk = await roundTrip(sdk);
    const viaDirect = await roundTrip(direct);

    expect(shape(viaDirect)).toEqual(shape(viaSdk));
    const attribute = viaDirect.received.Messages?.[0]?.MessageAttributes?.blob?.BinaryValue;
    expect(attribute).toBeInstanceOf(Uint8Array);
    expect([...(attribute ?? [])]).toEqual([0, 1, 254, 255]);
    expect(viaDirect.received.Messages).toHaveLength(3);
    expect(viaDirect.left).toEqual({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });

  it('refuses what fauxqs refuses with the SDK’s own exception class', async () => {
    const missing = 'http://sqs.us-east-1.localhost/000000000000/no-such-queue';
    const refusal = (client: SQSClient) =>
      client.send(new SendMessageCommand({ QueueUrl: missing, MessageBody: 'x' })).then(
        () => undefined,
        (error: Error) => ({ name: error.name, type: error.constructor.name, message: error.message }),
      );

    const [viaSdk, viaDirect] = [await refusal(sdk), await refusal(direct)];

    expect(viaSdk?.name).toBe('QueueDoesNotExist');
    expect(viaDirect).toEqual(viaSdk);
  });

  it('gives up a long poll when its signal aborts', async () => {
    const QueueUrl = await newQueue();
    const stop = new AbortController();
    const started = Date.now();
    const poll = direct.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }), {
      abortSignal: stop.signal,
    });

    setTimeout(() => stop.abort(), 50);

    await expect(poll).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
