import { isTerminal, type Job } from '../jobs/job.ts';

/** How a job (functions/lib/jobs/job.ts) is kept as an item of the one table: keys and index attributes. */

/** Policy and creation time never change, so the by-policy entry never moves; the by-status one follows the status. */
export const jobKey = (id: string) => ({ pk: `job#${id}`, sk: 'job' });
export const policyIndexKey = (policy: string) => `policy#${policy}`;
export const statusIndexKey = (status: string) => `status#${status}`;

export interface JobItem extends Job {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  gsi2pk: string;
  gsi2sk: string;
  /** Bumped by every write: transitions are conditional on the version they read. */
  version: number;
  /**
   * Final jobs only: when the record expires (epoch seconds; DynamoDB's TTL deployed, the
   * sweeper locally). A retry writes the item without it, so a job queued again never expires.
   */
  expiresAt?: number;
}

/** `keepSeconds`: how long a final job is kept after it finished; without it, it never expires. */
export function toItem(job: Job, version: number, keepSeconds?: number): JobItem {
  const order = `${job.createdAt}#${job.id}`;
  const finishedAt = Date.parse(job.finishedAt ?? job.updatedAt);
  const expires =
    keepSeconds !== undefined && isTerminal(job.status) && Number.isFinite(finishedAt)
      ? { expiresAt: Math.floor(finishedAt / 1000) + keepSeconds }
      : {};
  return {
    ...job,
    ...expires,
    ...jobKey(job.id),
    gsi1pk: policyIndexKey(job.policy),
    gsi1sk: order,
    gsi2pk: statusIndexKey(job.status),
    gsi2sk: order,
    version,
  };
}

export function fromItem(item: object): Job {
  const {
    pk: _pk,
    sk: _sk,
    gsi1pk: _1,
    gsi1sk: _2,
    gsi2pk: _3,
    gsi2sk: _4,
    version: _v,
    expiresAt: _e,
    // One open upload per job, kept before the lanes kept theirs (KeptLane): never read again.
    upload: _u,
    ...job
  } = item as Partial<JobItem> & { upload?: unknown };
  return job as Job;
}
