import type { TerminalStatus } from '../jobs/job.ts';

/** Errors the workflow's Catch rules match by name (`JobCancelledError` → RecordCancelled). */

export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
}

/** The execution belongs to an older attempt than the record's: a retry superseded it. */
export class StaleAttemptError extends Error {
  override name = 'StaleAttemptError';
}

/**
 * The job ended already at this attempt: the task was tried again after it (or a task before
 * it) recorded the end itself — Step Functions retries a task whose answer was lost. The tasks
 * that end jobs answer as they did the first time instead of working again.
 */
export class JobEndedError extends Error {
  override name = 'JobEndedError';
  readonly status: TerminalStatus;

  constructor(jobId: string, status: TerminalStatus) {
    super(`job ${jobId} ended ${status} already`);
    this.status = status;
  }
}

/** The execution's input names an action the workflow has no path for (neither push nor delete). */
export class UnknownActionError extends Error {
  override name = 'UnknownActionError';
}
