import type { JobError } from '../workflow/ports.ts';
import type { TerminalStatus } from './job.ts';

/**
 * How a job ends, whoever notices: its workflow's final Record state, the finalizer (an execution
 * that ended without one), or the dead-letter consumer. Ending a job records the final status
 * (once: terminal states are final), frees its running slot, and releases its tag lock — which
 * may hand the tag to a newer digest that arrived meanwhile, as a new job.
 */

export interface EndingPorts {
  /** Records the final status; false when the job had already ended. */
  finish(jobId: string, status: TerminalStatus, error?: JobError): Promise<boolean>;
  releaseLease(jobId: string): Promise<void>;
  /** Releases the job's tag lock; starts the follow-up job when a newer digest is waiting. */
  releaseTagLock(jobId: string): Promise<void>;
}

export async function endJob(
  ports: EndingPorts,
  jobId: string,
  status: TerminalStatus,
  error?: JobError,
): Promise<boolean> {
  const changed = await ports.finish(jobId, status, error);
  // Even when another party ended it first, make sure nothing stays held: both are idempotent.
  await ports.releaseLease(jobId);
  await ports.releaseTagLock(jobId);
  return changed;
}

export interface ExecutionEnded {
  /** The execution's input, JSON: `{ jobId, attempt }`. */
  input: string;
  status: string;
  error?: string | null;
  cause?: string | null;
}

const EXECUTION_OUTCOMES: Record<string, { status: TerminalStatus; code: string; message: string }> = {
  ABORTED: { status: 'CANCELLED', code: 'ExecutionAborted', message: 'the execution was stopped' },
  TIMED_OUT: { status: 'FAILED', code: 'ExecutionTimedOut', message: 'the execution ran past its timeout' },
  FAILED: { status: 'FAILED', code: 'ExecutionFailed', message: 'the execution failed' },
};

/** What the finalizer records for an execution that ended by itself or was stopped from outside. */
export function outcomeOfExecution(
  event: ExecutionEnded,
): { jobId: string; attempt: number; status: TerminalStatus; error: JobError } | undefined {
  let input: { jobId?: unknown; attempt?: unknown };
  try {
    input = JSON.parse(event.input) as typeof input;
  } catch {
    return undefined;
  }
  if (typeof input.jobId !== 'string' || typeof input.attempt !== 'number') return undefined;
  const outcome = EXECUTION_OUTCOMES[event.status];
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
