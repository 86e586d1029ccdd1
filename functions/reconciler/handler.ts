import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { app } from '../lib/app/current.ts';
import { reconcile } from '../lib/reconcile/reconcile.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';

/**
 * The reconciler, on a schedule (an EventBridge rate rule when deployed, a timer in `serve`):
 * drives on the jobs that should be moving and are not (functions/lib/reconcile). Its repairs
 * and the jobs waiting too long are metrics the stack's alarms watch.
 */
export async function reconcileJobs() {
  const crossdock = await app();
  const result = await reconcile(crossdock.reconcilePorts, crossdock.settings.reconcile);
  const repairs = result.resent + result.finalized + result.redriven + result.slotsFreed + result.admitted;
  metrics.addMetric('ReconcilerRepairs', MetricUnit.Count, repairs);
  metrics.addMetric('JobsWaitingTooLong', MetricUnit.Count, result.queuedTooLong + result.runningTooLong);
  if (repairs > 0) logger.warn('the reconciler drove on jobs that were not moving', { ...result });
  else logger.info('reconciled', { ...result });
  return result;
}

export const handler = observed(reconcileJobs);
