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

/**
 * A MountOrCopyBlobs invocation spent its byte budget (a big blob, or many): the lane goes on in
 * the next invocation, which the state's Retry starts at once (infra/workflow.ts). Not a failure:
 * it is how a lane loops without a state transition of its own per round.
 */
export class CopyContinuesError extends Error {
  override name = 'CopyContinuesError';
}

/**
 * What is left of a lane is blobs another job copies into the destination registry: the
 * state's Retry calls again a little later, without holding an invocation meanwhile, and the
 * next invocation mounts them (or copies them, if that job's claim expired).
 */
export class SharedBlobBusyError extends Error {
  override name = 'SharedBlobBusyError';
}
