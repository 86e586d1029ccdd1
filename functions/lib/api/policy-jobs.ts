import { mapLimit } from '#replication/limit.ts';
import { JobNotFoundError } from '../jobs/errors.ts';
import type { Job, JobStatus } from '../jobs/job.ts';
import type { ApiJobs } from './ports.ts';

/**
 * Disabling (or deleting) a policy cancels its queued and running jobs (docs/architecture.md,
 * "Management API"). A QUEUED job is CANCELLED at once (nothing runs it yet, and the dispatcher
 * drops its message); a RUNNING one gets its cancel flag, and its workflow's tasks stop between
 * chunks and record CANCELLED. The status index lists only unfinished jobs here, so the cost
 * follows what is queued and running, not the policy's whole history. Jobs are cancelled page by
 * page: a cancelled job leaves the QUEUED index behind the listing's cursor, never ahead of it.
 *
 * A request gives it a time budget: a policy with thousands of queued jobs is answered within
 * it (`pending`), and the rest is cancelled in the background (a scan request of kind
 * `cancel`, recorded and restarted like scans).
 */

export interface PolicyCancellation {
  /** QUEUED jobs now CANCELLED. */
  queued: number;
  /** RUNNING jobs asked to stop: they end CANCELLED after their current chunk. */
  running: number;
  /** The time budget ran out: the rest is being cancelled in the background. */
  pending?: true;
}

const CONCURRENCY = 8;
const PAGE = 100;

export async function cancelPolicyJobs(
  store: ApiJobs,
  policy: string,
  options: { budgetMs?: number } = {},
): Promise<PolicyCancellation> {
  const deadline = Date.now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
  const result: PolicyCancellation = { queued: 0, running: 0 };
  const cancel = async (id: string) => {
    if (Date.now() >= deadline) {
      result.pending = true;
      return;
    }
    let job: Job;
    try {
      job = await store.cancel(id);
    } catch (error) {
      // Gone from the records meanwhile: nothing to cancel.
      if (error instanceof JobNotFoundError) return;
      throw error;
    }
    if (job.status === 'CANCELLED') result.queued++;
    else if (job.status === 'RUNNING' && job.cancelRequested) result.running++;
  };
  for (const status of ['QUEUED', 'RUNNING'] as const satisfies JobStatus[]) {
    let cursor: string | undefined;
    do {
      if (Date.now() >= deadline) result.pending = true;
      if (result.pending) return result;
      const page = await store.listByStatus(status, { limit: PAGE, cursor });
      const ids = page.jobs.filter((job) => job.policy === policy).map((job) => job.id);
      await mapLimit(ids, CONCURRENCY, cancel);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return result;
}
