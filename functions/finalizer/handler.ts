import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventBridgeEvent } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { type ExecutionStatusChange, outcomeOfExecution } from '../lib/jobs/execution-outcome.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';

/**
 * "Step Functions Execution Status Change" for ABORTED, TIMED_OUT and FAILED executions: the
 * job ends as the execution did when no Record state of its own ran (a stopped execution, a
 * timeout, a failure outside the Catch), and its slot and tag lock are released either way.
 * An execution of an older attempt changes nothing: a retry runs the job now.
 */
export async function finalizeExecution(
  event: EventBridgeEvent<
    'Step Functions Execution Status Change',
    ExecutionStatusChange & { executionArn?: string }
  >,
): Promise<{ recorded: boolean }> {
  const outcome = outcomeOfExecution(event.detail);
  if (!outcome) {
    logger.warn('execution status change without a crossdock job', {
      executionArn: event.detail.executionArn,
    });
    return { recorded: false };
  }
  const crossdock = await app();
  const job = await crossdock.jobs.get(outcome.jobId);
  if (!job || job.attempt !== outcome.attempt) {
    logger.info('execution of an older attempt ended', { jobId: outcome.jobId, attempt: outcome.attempt });
    return { recorded: false };
  }
  const error = job.substate ? { ...outcome.error, state: job.substate } : outcome.error;
  const recorded = await crossdock.lifecycle.end(outcome.jobId, outcome.status, { error });
  if (recorded) metrics.addMetric('ExecutionsFinalized', MetricUnit.Count, 1);
  logger.info('execution ended', { jobId: outcome.jobId, status: event.detail.status, recorded });
  return { recorded };
}

export const handler = observed(finalizeExecution);
