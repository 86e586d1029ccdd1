import type { JobTarget, TerminalStatus } from '../jobs/job.ts';
import type { JobError } from '../workflow/ports.ts';

/** A job as the records hold it; what `jobs show` and the API answer. */

export type { JobAction, JobTarget, TerminalStatus } from '../jobs/job.ts';
export type { JobError } from '../workflow/ports.ts';

export type JobStatus = 'QUEUED' | 'RUNNING' | TerminalStatus;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELLED'];
export const UNFINISHED_STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING'];

export function isTerminal(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export interface JobHistoryEntry {
  at: string;
  status: JobStatus;
  substate?: string;
  attempt: number;
  note?: string;
}

export interface BlobCounts {
  copied: number;
  mounted: number;
  present: number;
}

export interface OpenUpload {
  digest: string;
  location: string;
  offset: number;
}

export interface Job extends JobTarget {
  status: JobStatus;
  /** The workflow state being worked on (FetchManifest, MountOrCopyBlob, …). */
  substate?: string;
  /** 1 for the first run; `retry` adds one. Executions are named `<id>-<attempt>`. */
  attempt: number;
  cancelRequested: boolean;
  blobs: BlobCounts;
  bytesCopied: number;
  error?: JobError;
  executionArn?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Append-only; the oldest entries go beyond HISTORY_LIMIT. */
  history: JobHistoryEntry[];
  /** A chunked upload left open by one invocation for the next. */
  upload?: OpenUpload;
}

export const HISTORY_LIMIT = 100;

/** Keys and index attributes of a job's item. Policy and creation time never change, so gsi1 never moves. */
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

/** Appends an entry, dropping the oldest beyond the limit. */
export function withHistory(history: JobHistoryEntry[], entry: JobHistoryEntry): JobHistoryEntry[] {
  return [...history, entry].slice(-HISTORY_LIMIT);
}
