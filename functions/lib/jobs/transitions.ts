import { JobTransitionError } from './errors.ts';
import {
  HISTORY_LIMIT,
  isTerminal,
  type Job,
  type JobError,
  type JobHistoryEntry,
  type JobStatus,
  type JobTarget,
  type JobWait,
  type TerminalStatus,
} from './job.ts';

/**
 * How a job moves from status to status, as pure functions of the job as it is now:
 *
 *   QUEUED ──startRunning──► RUNNING ──end──► SUCCEEDED | SKIPPED | FAILED | CANCELLED
 *     └───────────────────────end───────────────┘        (final: only `retry` leaves one)
 *   FAILED | CANCELLED ──retry──► QUEUED (a new attempt)
 *
 * Each answers the changed job and a history note, `undefined` when there is nothing to change
 * (the same step again), or throws JobTransitionError when the job's status does not allow it.
 * The store reads the job, applies one of these and writes the result back only if nobody wrote
 * in between (functions/lib/stores/jobs.ts), so the rules live here and nowhere else.
 */

export interface Transition {
  job: Job;
  note?: string | undefined;
}

export interface EndOptions {
  error?: JobError | undefined;
  note?: string | undefined;
  /** Ends the job only while it is in one of these statuses (a cancel ends only a QUEUED job). */
  from?: readonly JobStatus[] | undefined;
  /** The end answers a cancel request: the job's cancel flag is set with it. */
  cancelRequested?: boolean | undefined;
  /** Ends the job only at this attempt: an older execution still running after a retry changes nothing. */
  attempt?: number | undefined;
  /** Final totals, replacing the counts progress added up. */
  stats?: { copied?: number; mounted?: number; present?: number; bytesCopied?: number } | undefined;
}

/** A new job, QUEUED at attempt 1 with nothing done yet. */
export function queuedJob(target: JobTarget, at: string): Job {
  return {
    ...target,
    status: 'QUEUED',
    attempt: 1,
    cancelRequested: false,
    blobs: { copied: 0, mounted: 0, present: 0 },
    bytesCopied: 0,
    createdAt: at,
    updatedAt: at,
    history: [{ at, status: 'QUEUED', attempt: 1 }],
  };
}

/** RUNNING for this attempt and execution, from QUEUED, or from RUNNING with an older attempt. */
export function startRunning(
  job: Job,
  attempt: number,
  executionArn: string,
  at: string,
  substate?: string,
): Transition | undefined {
  if (job.status === 'RUNNING' && job.attempt === attempt && job.executionArn === executionArn)
    return undefined;
  const fromQueued = job.status === 'QUEUED' && attempt >= job.attempt;
  const fromOlderRun = job.status === 'RUNNING' && attempt > job.attempt;
  if (!fromQueued && !fromOlderRun) {
    throw new JobTransitionError(
      `job ${job.id} is ${job.status} at attempt ${job.attempt}; execution ${executionArn} (attempt ${attempt}) cannot run it`,
    );
  }
  const { substate: _s, lanes: _l, error: _e, wait: _w, ...rest } = job;
  return {
    job: {
      ...rest,
      status: 'RUNNING',
      attempt,
      executionArn,
      startedAt: at,
      ...(substate ? { substate } : {}),
    },
  };
}

/** The final status, once: a job that has ended already (or is not in `from`) is left as it is. */
export function end(
  job: Job,
  status: TerminalStatus,
  options: EndOptions,
  at: string,
): Transition | undefined {
  if (isTerminal(job.status)) return undefined;
  if (options.from && !options.from.includes(job.status)) return undefined;
  if (options.attempt !== undefined && job.attempt !== options.attempt) return undefined;
  const { lanes: _l, wait: _w, ...rest } = job;
  const { stats } = options;
  return {
    note: options.note,
    job: {
      ...rest,
      status,
      finishedAt: at,
      ...(options.cancelRequested ? { cancelRequested: true } : {}),
      ...(options.error ? { error: options.error } : {}),
      ...(stats
        ? {
            blobs: {
              copied: stats.copied ?? job.blobs.copied,
              mounted: stats.mounted ?? job.blobs.mounted,
              present: stats.present ?? job.blobs.present,
            },
            bytesCopied: stats.bytesCopied ?? job.bytesCopied,
          }
        : {}),
    },
  };
}

/** Asks a running job to stop at its next check; a finished job, or one asked already, is left. */
export function requestCancel(job: Job): Transition | undefined {
  if (isTerminal(job.status) || job.cancelRequested) return undefined;
  return { note: 'cancel requested', job: { ...job, cancelRequested: true } };
}

/** A FAILED or CANCELLED job QUEUED again as a new attempt (a new execution `<id>-<attempt+1>`). */
export function retry(job: Job): Transition {
  if (job.status !== 'FAILED' && job.status !== 'CANCELLED') {
    throw new JobTransitionError(`job ${job.id} is ${job.status}: only FAILED or CANCELLED jobs are retried`);
  }
  const {
    substate: _s,
    lanes: _l,
    error: _e,
    executionArn: _x,
    startedAt: _st,
    finishedAt: _f,
    wait: _w,
    ...rest
  } = job;
  return {
    note: `retry of attempt ${job.attempt}`,
    job: {
      ...rest,
      status: 'QUEUED',
      attempt: job.attempt + 1,
      cancelRequested: false,
      blobs: { copied: 0, mounted: 0, present: 0 },
      bytesCopied: 0,
    },
  };
}

/**
 * Records why a QUEUED job is not moving (or, with undefined, that it moves again). Only a
 * QUEUED job waits; the same reason again changes nothing (no write per dispatcher bounce).
 */
export function setWait(job: Job, wait: JobWait | undefined): Transition | undefined {
  if (job.status !== 'QUEUED') return undefined;
  if (wait === undefined) {
    if (job.wait === undefined) return undefined;
    const { wait: _w, ...rest } = job;
    return { job: rest, note: `no longer waits for its ${job.wait.reason}` };
  }
  const holder = (w: JobWait | undefined) => (w?.reason === 'tag' ? w.holder : undefined);
  if (job.wait?.reason === wait.reason && holder(job.wait) === holder(wait)) return undefined;
  const note =
    wait.reason === 'tag' ? `waits for its tag: job ${wait.holder} holds it` : 'waits for a running slot';
  return { job: { ...job, wait }, note };
}

/** A note in the job's history about something done to it (its updatedAt moves: it is not stale). */
export function remark(job: Job, note: string): Transition {
  return { job, note };
}

/** Appends an entry, dropping the oldest beyond the limit. */
export function withHistory(history: JobHistoryEntry[], entry: JobHistoryEntry): JobHistoryEntry[] {
  return [...history, entry].slice(-HISTORY_LIMIT);
}
