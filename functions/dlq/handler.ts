import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { jobMessageSchema } from '../lib/jobs/message.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';

/**
 * The dead-letter queue's consumer: a job whose message could not be handled ends FAILED with
 * the reason, so nothing that reached the DLQ is left unrecorded. A message that names no job
 * (not JSON, not a job message) is logged with its id and dropped: there is nothing to record.
 */

const processor = new BatchProcessor(EventType.SQS);

async function recordDeadLetter(record: SQSRecord): Promise<void> {
  let parsed: ReturnType<typeof jobMessageSchema.safeParse>;
  try {
    parsed = jobMessageSchema.safeParse(JSON.parse(record.body));
  } catch {
    parsed = jobMessageSchema.safeParse(undefined);
  }
  if (!parsed.success) {
    logger.error('dead letter names no job; dropped', { messageId: record.messageId });
    metrics.addMetric('DeadLettersDropped', MetricUnit.Count, 1);
    return;
  }
  const { jobId, attempt } = parsed.data;
  const crossdock = await app();
  const job = await crossdock.jobs.get(jobId);
  if (!job || job.attempt !== attempt) {
    logger.warn('dead letter of a job or attempt no longer in the records', { jobId, attempt });
    return;
  }
  const receives = record.attributes.ApproximateReceiveCount;
  const ended = await crossdock.lifecycle.end(jobId, 'FAILED', {
    error: {
      code: 'DeadLetter',
      message: `the job's message was received ${receives} times without being dispatched; it was moved to the dead-letter queue`,
      ...(job.substate ? { state: job.substate } : {}),
    },
  });
  metrics.addMetric('DeadLetters', MetricUnit.Count, 1);
  logger.error('job moved to the dead-letter queue', { jobId, attempt, recorded: ended });
}

export async function recordDeadLetters(event: SQSEvent, context: Context) {
  return processPartialResponse(event, recordDeadLetter, processor, { context });
}

export const handler = observed(recordDeadLetters);
