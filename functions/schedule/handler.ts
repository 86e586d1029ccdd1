import { app } from '../lib/app/current.ts';
import { SCHEDULE_SLACK_MS } from '../lib/config/defaults.ts';
import { startDueRuns } from '../lib/drift/due-runs.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger } from '../lib/runtime/observability.ts';

/**
 * The scheduled trigger of reconciliation runs (an EventBridge rule every minute when
 * deployed, a timer in `serve`): starts the run of each enabled policy whose `schedule` is due
 * (functions/lib/drift/due-runs.ts). The runs themselves go on in the background — the scan
 * function, invoked asynchronously, when deployed — so a tick takes one read per scheduled
 * policy and a conditional write per due one.
 */
export async function startScheduledRuns() {
  const result = await startDueRuns((await app()).dueRunPorts, { slackMs: SCHEDULE_SLACK_MS });
  if (result.started.length > 0 || result.busy.length > 0)
    logger.info('scheduled policy runs', { ...result });
  return result;
}

export const handler = observed(startScheduledRuns);
