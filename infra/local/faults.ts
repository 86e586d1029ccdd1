import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobMessage, QueuedJob } from '../../functions/lib/jobs/message.ts';

/**
 * Faults the local runtime can be told to inject, for the tests that prove the pipeline
 * survives what AWS does to it now and then (docs/reliability.md). Nothing here is on unless a
 * test asks: `serve` never sets it.
 */
export interface RuntimeFaults {
  /** A job message for which this answers true is lost: the send reports success, nothing is queued. */
  dropSend?: ((message: JobMessage) => boolean | Promise<boolean>) | undefined;
  /** While this answers true, every dispatcher invocation throws (an outage of the dispatcher). */
  dispatcherDown?: (() => boolean) | undefined;
  /** Sees every job message the dispatcher receives (to count receives; changes nothing). */
  dispatched?: ((message: QueuedJob) => void) | undefined;
}

const parse = (body: string | undefined): JobMessage | undefined => {
  try {
    return JSON.parse(body ?? '') as JobMessage;
  } catch {
    return undefined;
  }
};

/** The SQS client, with the sends `dropSend` picks answered as sent and never delivered. */
export function droppingSends(
  client: SQSClient,
  dropSend: (message: JobMessage) => boolean | Promise<boolean>,
): SQSClient {
  const dropped = async (body: string | undefined) => {
    const message = parse(body);
    return message !== undefined && (await dropSend(message));
  };
  const send = async (command: unknown, ...rest: unknown[]) => {
    if (command instanceof SendMessageCommand && (await dropped(command.input.MessageBody))) {
      return { MessageId: 'dropped' };
    }
    if (command instanceof SendMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      const drop = await Promise.all(entries.map((entry) => dropped(entry.MessageBody)));
      const kept = entries.filter((_entry, i) => !drop[i]);
      const answer =
        kept.length > 0
          ? await client.send(new SendMessageBatchCommand({ ...command.input, Entries: kept }))
          : {};
      const keptIds = new Set(kept.map((entry) => entry.Id));
      const lost = entries
        .filter((entry) => !keptIds.has(entry.Id))
        .map((entry) => ({ Id: entry.Id, MessageId: 'dropped' }));
      return {
        ...answer,
        Successful: [...((answer as { Successful?: unknown[] }).Successful ?? []), ...lost],
      };
    }
    return (client.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
  };
  return new Proxy(client, {
    get: (target, property) => (property === 'send' ? send : Reflect.get(target, property)),
  });
}
