import { mapLimit } from '#replication/limit.ts';
import { JobNotFoundError } from '../jobs/errors.ts';
import type { Job, JobStatus } from '../jobs/job.ts';
import type { ApiJobs } from './ports.ts';

/**
 * Disabling (or deleting) a policy cancels its queued and running jobs (docs/architecture.md,
 * "Management API"). A QUEUED job is CANCELLED at once (nothing runs it yet, and the dispatcher
 * drops its message); a RUNNING one gets its cancel flag, and its workflow's tasks stop between
 * chunks and record CANCELLED. The status index lists only unfinished jobs here, so the cost
 * follows what is queued and running, not the policy's whole history. The ids are collected
 * before anything changes, so that the listing's cursor never runs over records being moved.
 */

export interface PolicyCancellation {
  /** QUEUED jobs now CANCELLED. */
  queued: number;
  /** RUNNING jobs asked to stop: they end CANCELLED after their current chunk. */
  running: number;
}

const CONCURRENCY = 8;

async function unfinishedIds(store: ApiJobs, policy: string, status: JobStatus): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listByStatus(status, { limit: 100, cursor });
    for (const job of page.jobs) if (job.policy === policy) ids.push(job.id);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return ids;
}

export async function cancelPolicyJobs(store: ApiJobs, policy: string): Promise<PolicyCancellation> {
  const result: PolicyCancellation = { queued: 0, running: 0 };
  const ids = [
    ...(await unfinishedIds(store, policy, 'QUEUED')),
    ...(await unfinishedIds(store, policy, 'RUNNING')),
  ];
  await mapLimit([...new Set(ids)], CONCURRENCY, async (id) => {
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
  });
  return result;
}
