import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { parser } from '@aws-lambda-powertools/batch/parser';
import type { ParsedRecord } from '@aws-lambda-powertools/batch/types';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { dispatchJob } from '../lib/dispatch/dispatch-job.ts';
import { type QueuedJob, queuedJobSchema } from '../lib/jobs/message.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';

/**
 * The jobs queue's consumer: each message is one job attempt to admit and start. A message
 * that fails (a store or Step Functions error) is reported alone and comes back after the
 * visibility timeout; one that cannot be parsed fails until it reaches the dead-letter queue.
 */

type QueuedJobRecord = ParsedRecord<SQSRecord, QueuedJob>;

const processor = new BatchProcessor(EventType.SQS, {
  parser,
  innerSchema: queuedJobSchema,
  transformer: 'json',
  logger,
});

async function dispatchRecord(record: QueuedJobRecord): Promise<void> {
  const message = record.body;
  const outcome = await dispatchJob((await app()).dispatchPorts, message);
  metrics.addMetric(`Dispatch${outcome[0]?.toUpperCase()}${outcome.slice(1)}`, MetricUnit.Count, 1);
  logger.info(`job ${outcome}`, {
    jobId: message.jobId,
    attempt: message.attempt,
    woken: message.woken === true,
  });
}

export async function dispatchBatch(event: SQSEvent, context: Context) {
  return processPartialResponse(event, dispatchRecord, processor, { context });
}

export const handler = observed(dispatchBatch);
