import { type ExecutionStatusChange, outcomeOfExecution } from '../jobs/execution-outcome.ts';
import { isTerminal, type Job, type JobStatus, type SubmittedJob } from '../jobs/job.ts';
import type { EndRequest } from '../jobs/lifecycle.ts';

/**
 * The reconciler: records are the truth, queues and executions transport (docs/reliability.md).
 * On a schedule it finds the jobs that should be moving and are not, and drives them on through
 * the job lifecycle the dispatcher and the finalizer use:
 * - a QUEUED job older than `staleAfterMs` that waits for nothing (its message was lost: an SQS
 *   send failed after the record was written, a handover's send failed), or that waits for a tag
 *   no unfinished job holds any more (a crash between the handover and its send), is claimed
 *   and sent again;
 * - a RUNNING job whose execution has closed without a Record state (a lost finalizer event) ends
 *   as its execution did; one whose execution is unknown (the local runtime lost it) is sent again;
 * - a running slot held by a job that has ended is freed, and parked jobs that fit into free
 *   slots are admitted (a wake-up lost with its process).
 * A job that waits by design — parked in line for a slot, or behind an unfinished holder of its
 * tag — is never sent again. Every step is idempotent: two runs at
 * once send a message twice at worst, and the dispatcher drops the second.
 */

/** What an execution's status query answers. */
export type ExecutionState =
  | { status: 'RUNNING' }
  | {
      status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
      error?: string | undefined;
      cause?: string | undefined;
    }
  | { status: 'UNKNOWN' };

export interface ReconcilePorts {
  /** Every job of the status, page by page. */
  jobs(status: 'QUEUED' | 'RUNNING'): AsyncIterable<Job>;
  job(id: string): Promise<Job | undefined>;
  /** The job holding the tag lock of this job's tag, if any. */
  tagHolder(job: Job): Promise<string | undefined>;
  execution(executionArn: string): Promise<ExecutionState>;
  /** Claims the job's tag again and sends it when it holds the tag (JobLifecycle.requeue). */
  requeue(job: Job): Promise<SubmittedJob>;
  /** Notes in the job's history what the reconciler did (so it is not stale for another period). */
  remark(jobId: string, note: string): Promise<void>;
  /** True while the job waits in its destination's line for a slot. */
  parked(job: Job): Promise<boolean>;
  /** Sends the parked jobs that fit into the free slots now (the safety net of admission). */
  admitParked(): Promise<number>;
  /** The one way a job ends (JobLifecycle.end). */
  end(jobId: string, status: 'FAILED' | 'CANCELLED', request: EndRequest): Promise<boolean>;
  /** Jobs holding a running slot. */
  slotHolders(): Promise<string[]>;
  releaseLease(jobId: string): Promise<void>;
  now(): number;
}

export interface ReconcileOptions {
  /** A QUEUED or RUNNING job untouched for this long is looked at. */
  staleAfterMs: number;
  /** Jobs QUEUED longer than this are counted as waiting too long (an alarm watches the count). */
  tooLongMs: number;
}

export interface ReconcileResult {
  /** QUEUED jobs sent again: their message was lost. */
  resent: number;
  /** RUNNING jobs whose execution had closed unrecorded, ended as it did. */
  finalized: number;
  /** RUNNING jobs whose execution is unknown, sent again. */
  redriven: number;
  /** Running slots freed from jobs that had ended. */
  slotsFreed: number;
  /** Parked jobs sent into slots that were free. */
  admitted: number;
  /** Jobs QUEUED (or RUNNING) for longer than `tooLongMs`, whatever they wait for. */
  queuedTooLong: number;
  runningTooLong: number;
}

const age = (job: Job, now: number) => now - Date.parse(job.updatedAt);

/** Why a QUEUED job does not move, when that is not by design; undefined when it is parked or fresh. */
async function lostQueued(ports: ReconcilePorts, job: Job): Promise<string | undefined> {
  if (job.wait?.reason === 'slot') {
    // Parked, a freed slot admits it; out of line, its wake-up message was lost.
    return (await ports.parked(job)) ? undefined : 'it was taken out of line, but its message was lost';
  }
  if (job.wait?.reason === 'tag') {
    const holder = await ports.tagHolder(job);
    if (holder === job.id) return 'it holds its tag, but its handover was never sent';
    const holding = holder === undefined ? undefined : await ports.job(holder);
    if (holding && !isTerminal(holding.status)) return undefined; // parked behind a live holder
    return `the job it waited for (${holder ?? job.wait.holder}) has ended`;
  }
  return 'its message was lost';
}

export async function reconcile(ports: ReconcilePorts, options: ReconcileOptions): Promise<ReconcileResult> {
  const result: ReconcileResult = {
    resent: 0,
    finalized: 0,
    redriven: 0,
    slotsFreed: 0,
    admitted: 0,
    queuedTooLong: 0,
    runningTooLong: 0,
  };
  const now = ports.now();

  for await (const job of ports.jobs('QUEUED')) {
    const idle = age(job, now);
    if (idle > options.tooLongMs) result.queuedTooLong++;
    if (idle < options.staleAfterMs) continue;
    const why = await lostQueued(ports, job);
    if (why === undefined) continue;
    const { enqueue } = await ports.requeue(job);
    await ports.remark(
      job.id,
      `the reconciler ${enqueue ? 'sent it again' : 'claimed its tag again'}: ${why}`,
    );
    if (enqueue) result.resent++;
  }

  for await (const job of ports.jobs('RUNNING')) {
    const idle = age(job, now);
    if (idle > options.tooLongMs) result.runningTooLong++;
    if (idle < options.staleAfterMs || job.executionArn === undefined) continue;
    const execution = await ports.execution(job.executionArn);
    if (execution.status === 'RUNNING') continue;
    if (execution.status === 'UNKNOWN') {
      if ((await ports.requeue(job)).enqueue) result.redriven++;
      await ports.remark(job.id, 'the reconciler drove it on: its execution is gone');
      continue;
    }
    const change: ExecutionStatusChange = {
      input: JSON.stringify({ jobId: job.id, attempt: job.attempt }),
      status: execution.status,
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    };
    const outcome = outcomeOfExecution(change);
    if (!outcome) continue;
    const error = job.substate ? { ...outcome.error, state: job.substate } : outcome.error;
    if (await ports.end(job.id, outcome.status as 'FAILED' | 'CANCELLED', { error, attempt: job.attempt }))
      result.finalized++;
  }

  for (const jobId of await ports.slotHolders()) {
    const job = await ports.job(jobId);
    if (job && !isTerminal(job.status as JobStatus)) continue;
    await ports.releaseLease(jobId);
    result.slotsFreed++;
  }
  // Slots may be free with jobs parked (a wake-up lost with its process): admit them now.
  result.admitted = await ports.admitParked();
  return result;
}
