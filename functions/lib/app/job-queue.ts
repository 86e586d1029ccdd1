import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueMessage } from '../jobs/message.ts';

/**
 * The jobs queue as the functions use it: job messages `{jobId, attempt}` (and a big
 * delivery's SubmitMessages) in batches of ten, and a message put back with a delay (from the
 * dead-letter queue).
 */

export class QueueError extends Error {
  override name = 'QueueError';
}

const BATCH = 10;
const ATTEMPTS = 3;

export class JobQueue {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
  }

  /** Sends every message; entries SQS refused are sent again, and a last refusal throws. */
  async send(messages: QueueMessage[]): Promise<void> {
    for (let start = 0; start < messages.length; start += BATCH) {
      let pending = messages.slice(start, start + BATCH).map((message, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify(message),
      }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        const result = await this.#sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: pending }),
        );
        const failed = new Set((result.Failed ?? []).map((entry) => entry.Id));
        pending = pending.filter((entry) => failed.has(entry.Id));
        if (pending.length > 0 && attempt >= ATTEMPTS) {
          const reasons = (result.Failed ?? []).map((entry) => entry.Message ?? entry.Code).join('; ');
          throw new QueueError(`the jobs queue refused ${pending.length} message(s): ${reasons}`);
        }
      }
    }
  }

  /** The message again, visible after `delaySeconds` (SQS allows up to 900). */
  async requeue(message: QueueMessage, delaySeconds: number): Promise<void> {
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))),
      }),
    );
  }
}
