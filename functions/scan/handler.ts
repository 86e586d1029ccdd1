import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { app } from '../lib/app/current.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';

/**
 * A policy's background scan (enabling it replicates everything its project holds), the
 * background cancel of a disabled policy's many jobs, or a policy's reconciliation run
 * (`kind: 'sync'`, started by the schedule function or `POST /api/policies/{name}/sync`):
 * invoked asynchronously, never inside a request. The same request again submits the same
 * job ids, so Lambda's retry of an async invocation makes no duplicates.
 */
const scanRequestSchema = z.object({
  policy: z.string().min(1),
  scanId: z.string().min(1),
  kind: z.enum(['cancel', 'sync']).optional(),
  trigger: z.enum(['schedule', 'manual']).optional(),
});

const FINISHED = { cancel: 'policy jobs cancelled', sync: 'policy run finished' } as const;

export async function scanPolicy(event: unknown) {
  const request = scanRequestSchema.parse(event);
  const result = await (await app()).runScan(request);
  if (!('kind' in result) && 'jobs' in result) metrics.addMetric('ScanJobs', MetricUnit.Count, result.jobs);
  logger.info(request.kind === undefined ? 'scan finished' : FINISHED[request.kind], { ...result });
  return result;
}

export const handler = observed(scanPolicy);
