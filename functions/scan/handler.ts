import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { app } from '../lib/app/current.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';

/**
 * A policy's background scan (enabling it replicates everything its project holds), or the
 * background cancel of a disabled policy's many jobs: invoked asynchronously by the API, never
 * inside the request. The same request again submits the same
 * job ids, so Lambda's retry of an async invocation makes no duplicates.
 */
const scanRequestSchema = z.object({
  policy: z.string().min(1),
  scanId: z.string().min(1),
  kind: z.literal('cancel').optional(),
});

export async function scanPolicy(event: unknown) {
  const request = scanRequestSchema.parse(event);
  const result = await (await app()).runScan(request);
  if ('jobs' in result) metrics.addMetric('ScanJobs', MetricUnit.Count, result.jobs);
  logger.info(request.kind === 'cancel' ? 'policy jobs cancelled' : 'scan finished', { ...result });
  return result;
}

export const handler = observed(scanPolicy);
