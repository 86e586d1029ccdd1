import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import { consoleLogger, type LocalLogger } from './local-logger.ts';

/**
 * What Lambda's SQS event source does, which no emulator provides: receive batches, call the
 * handler with at most `concurrency` invocations at once (the function's reserved concurrency),
 * delete what succeeded, and let the visibility timeout bring back the rest — the items named
 * in `batchItemFailures`, or the whole batch when the handler throws or names an item that is
 * not in the batch (as Lambda does). One receive loop feeds all slots and receives only while a
 * slot is free, so no message waits out its visibility timeout in this process. `stop()` ends
 * receiving and waits for the running handlers. It abandons a long poll under way: with the
 * in-memory client, a message arriving in what is left of that poll is taken by nobody and
 * comes back after the visibility timeout (see in-memory-handler.ts); short polls keep that rare.
 */

/** An SQS-triggered Lambda handler: answers partial batch failures, or nothing (all succeeded). */
export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined> | Promise<void>;

export interface PollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsBatchHandler;
  /** Handler invocations at once (reserved concurrency / maximum concurrency). */
  concurrency: number;
  /** Messages per invocation, 1–10 (one ReceiveMessage). */
  batchSize: number;
  /** Long poll, 0–20 s. */
  waitTimeSeconds: number;
  logger?: LocalLogger;
  /** Pause after a failed ReceiveMessage; default 1000 ms. */
  retryDelayMs?: number;
}

export interface Poller {
  stop(): Promise<void>;
}

function attribute(value: MessageAttributeValue): SQSMessageAttribute {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return {
    dataType: value.DataType ?? 'String',
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
  };
}

/** A received message as Lambda hands it to the function. */
export function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, attribute(value)]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? '',
  };
}

/** The records to delete after an invocation: all, some, or none (the whole batch comes back). */
function succeeded(records: SQSRecord[], response: SQSBatchResponse | undefined): SQSRecord[] {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return records;
  const failed = new Set(failures.map((failure) => failure.itemIdentifier));
  const known = new Set(records.map((record) => record.messageId));
  for (const id of failed) if (!id || !known.has(id)) return [];
  return records.filter((record) => !failed.has(record.messageId));
}

export function startPoller(options: PollerOptions): Poller {
  const { client, queueUrl, queueArn, handler, concurrency, batchSize, waitTimeSeconds } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency must be at least 1');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new Error('batchSize must be 1–10 (one ReceiveMessage; no batching window)');
  }
  const logger = options.logger ?? consoleLogger;
  const stopping = new AbortController();
  const running = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;

  const deleteSucceeded = async (records: SQSRecord[]) => {
    if (records.length === 0) return;
    const { Failed } = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: records.map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle })),
      }),
    );
    for (const failure of Failed ?? []) {
      const record = records[Number(failure.Id)];
      logger.warn('a handled message could not be deleted; it will be delivered again', {
        queueArn,
        messageId: record?.messageId,
        code: failure.Code,
        reason: failure.Message,
      });
    }
  };

  const invoke = async (records: SQSRecord[]) => {
    let response: SQSBatchResponse | undefined;
    try {
      response = ((await handler({ Records: records })) ?? undefined) as SQSBatchResponse | undefined;
    } catch (error) {
      logger.error('handler failed; the batch comes back after the visibility timeout', {
        queueArn,
        messages: records.length,
        error,
      });
      return;
    }
    try {
      await deleteSucceeded(succeeded(records, response));
    } catch (error) {
      logger.error('deleting handled messages failed; they will be delivered again', { queueArn, error });
    }
  };

  const launch = (records: SQSRecord[]) => {
    const invocation = invoke(records).finally(() => {
      running.delete(invocation);
      slotFreed?.();
    });
    running.add(invocation);
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        stopping.signal.removeEventListener('abort', wake);
        resolve();
      }, ms);
      stopping.signal.addEventListener('abort', wake, { once: true });
    });

  const loop = async () => {
    while (!stopping.signal.aborted) {
      if (running.size >= concurrency) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
        });
        slotFreed = undefined;
        continue;
      }
      let messages: Message[];
      try {
        const answer = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: stopping.signal },
        );
        messages = answer.Messages ?? [];
      } catch (error) {
        if (stopping.signal.aborted) break;
        logger.warn('receiving from the queue failed; retrying', { queueArn, error });
        await pause(options.retryDelayMs ?? 1000);
        continue;
      }
      if (messages.length > 0) launch(messages.map((message) => toRecord(message, queueArn)));
    }
  };
  const looping = loop();

  return {
    async stop() {
      stopping.abort();
      slotFreed?.();
      await looping;
      await Promise.all([...running]);
    },
  };
}
