import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { handleDeadLetter, handleDeadSubmission } from '../lib/dispatch/dead-letter.ts';
import { isSubmitMessage, queueMessageSchema } from '../lib/jobs/message.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';

/**
 * The dead-letter queue's consumer (functions/lib/dispatch/dead-letter.ts): a transient failure
 * sends the job's message again later, a lasting one ends the job FAILED with the reason (a big
 * delivery's SubmitMessage is sent again, and dropped after as many rounds). A
 * message that names no job (not JSON, not a job message) is logged with its id and dropped.
 * Every arrival is counted (`DeadLetters`), which the stack's alarm watches.
 */

const processor = new BatchProcessor(EventType.SQS);

function parse(body: string) {
  try {
    return queueMessageSchema.safeParse(JSON.parse(body));
  } catch {
    return queueMessageSchema.safeParse(undefined);
  }
}

async function recordDeadLetter(record: SQSRecord): Promise<void> {
  metrics.addMetric('DeadLetters', MetricUnit.Count, 1);
  const parsed = parse(record.body);
  if (!parsed.success) {
    logger.error('dead letter names no job; dropped', { messageId: record.messageId });
    metrics.addMetric('DeadLettersDropped', MetricUnit.Count, 1);
    return;
  }
  const crossdock = await app();
  const options = { firstDelaySeconds: crossdock.settings.deadLetterDelaySeconds };
  if (isSubmitMessage(parsed.data)) {
    const outcome = await handleDeadSubmission(crossdock.deadLetterPorts, parsed.data, options);
    const jobs = parsed.data.submit.map((job) => job.id);
    if (outcome === 'dropped') logger.error('delivery jobs given up after the dead-letter queue', { jobs });
    else logger.warn('dead letter requeued', { jobs, round: parsed.data.deadLetters ?? 0 });
    return;
  }
  const outcome = await handleDeadLetter(
    crossdock.deadLetterPorts,
    parsed.data,
    record.attributes.ApproximateReceiveCount,
    options,
  );
  const { jobId, attempt, deadLetters } = parsed.data;
  if (outcome === 'failed') logger.error('job given up after the dead-letter queue', { jobId, attempt });
  else logger.warn(`dead letter ${outcome}`, { jobId, attempt, round: deadLetters ?? 0 });
}

export async function recordDeadLetters(event: SQSEvent, context: Context) {
  return processPartialResponse(event, recordDeadLetter, processor, { context });
}

export const handler = observed(recordDeadLetters);
