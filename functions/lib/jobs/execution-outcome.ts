import type { JobError, TerminalStatus } from './job.ts';

/**
 * What a Step Functions "Execution Status Change" event (EventBridge; the local runtime makes
 * the same) means for the job the execution ran: ABORTED, TIMED_OUT and FAILED executions end
 * their job when no Record state of their own did (docs/architecture.md, "The finalizer").
 */

/** The event's `detail`, as far as the finalizer reads it. */
export interface ExecutionStatusChange {
  /** The execution's input, JSON: `{ jobId, attempt }`. */
  input: string;
  status: string;
  error?: string | null;
  cause?: string | null;
}

type Outcome = { status: TerminalStatus; code: string; message: string };

const EXECUTION_OUTCOMES: Record<string, Outcome> = {
  ABORTED: { status: 'CANCELLED', code: 'ExecutionAborted', message: 'the execution was stopped' },
  TIMED_OUT: { status: 'FAILED', code: 'ExecutionTimedOut', message: 'the execution ran past its timeout' },
  FAILED: { status: 'FAILED', code: 'ExecutionFailed', message: 'the execution failed' },
  // Only the reconciler sees these: the status rule forwards ABORTED, TIMED_OUT and FAILED.
  SUCCEEDED: {
    status: 'FAILED',
    code: 'ExecutionEndedUnrecorded',
    message: "the execution ended without recording the job's end",
  },
};

/** A cancelled job's execution ends in the Fail state `Cancelled` (error JobCancelled): still a cancel. */
const CANCELLED_EXECUTION: Outcome = {
  status: 'CANCELLED',
  code: 'JobCancelled',
  message: 'the job was cancelled',
};

/** What the finalizer records for an execution that ended by itself or was stopped from outside. */
export function outcomeOfExecution(
  event: ExecutionStatusChange,
): { jobId: string; attempt: number; status: TerminalStatus; error: JobError } | undefined {
  let input: { jobId?: unknown; attempt?: unknown };
  try {
    input = JSON.parse(event.input) as typeof input;
  } catch {
    return undefined;
  }
  if (typeof input.jobId !== 'string' || typeof input.attempt !== 'number') return undefined;
  const outcome =
    event.status === 'FAILED' && event.error === 'JobCancelled'
      ? CANCELLED_EXECUTION
      : EXECUTION_OUTCOMES[event.status];
  if (!outcome) return undefined;
  const detail = [event.error, event.cause]
    .filter((part) => typeof part === 'string' && part !== '')
    .join(': ');
  return {
    jobId: input.jobId,
    attempt: input.attempt,
    status: outcome.status,
    error: { code: outcome.code, message: detail || outcome.message },
  };
}
