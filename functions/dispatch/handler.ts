import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { parser } from '@aws-lambda-powertools/batch/parser';
import type { ParsedRecord } from '@aws-lambda-powertools/batch/types';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { dispatchJob } from '../lib/dispatch/dispatch-job.ts';
import { isSubmitMessage, type QueueMessage, queueMessageSchema } from '../lib/jobs/message.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';
import { submitJobs } from '../lib/webhook/submit-jobs.ts';

/**
 * The jobs queue's consumer: each message is one job attempt to admit and start, or a big
 * webhook delivery's jobs to submit (SubmitMessage: recorded, tag locks claimed, their job
 * messages sent; idempotent, so a retried message makes no second job). A message
 * that fails (a store or Step Functions error) is reported alone and comes back after the
 * visibility timeout; one that cannot be parsed fails until it reaches the dead-letter queue.
 */

type QueueRecord = ParsedRecord<SQSRecord, QueueMessage>;

/**
 * The record schema is built once here, not per record: given `innerSchema`, the Batch parser
 * extends the SQS record schema again for every record and loads its helpers on the first one,
 * in the middle of the first burst (docs/performance.md, "Local runtime cost").
 */
const processor = new BatchProcessor(EventType.SQS, {
  parser,
  schema: SqsRecordSchema.extend({ body: JSONStringified(queueMessageSchema) }),
  logger,
});

async function dispatchRecord(record: QueueRecord): Promise<void> {
  const message = record.body;
  if (isSubmitMessage(message)) {
    const jobs = await submitJobs((await app()).webhookPorts, message.submit);
    metrics.addMetric('DeliveryJobsSubmitted', MetricUnit.Count, jobs.length);
    logger.info('delivery jobs submitted', { jobs: jobs.length, of: message.submit.length });
    return;
  }
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
