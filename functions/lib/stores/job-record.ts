import type { Job } from '../jobs/job.ts';

/** How a job (functions/lib/jobs/job.ts) is kept as an item of the one table: keys and index attributes. */

/** Policy and creation time never change, so gsi1 never moves; gsi2 follows the status. */
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
}

export function toItem(job: Job, version: number): JobItem {
  const order = `${job.createdAt}#${job.id}`;
  return {
    ...job,
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
    ...job
  } = item as Partial<JobItem>;
  return job as Job;
}
