import { isTerminal, type Job } from '../jobs/job.ts';
import type { JobMessage, QueuedJob } from '../jobs/message.ts';

/**
 * The dispatcher's decision for one queued job message: drop it (stale or done), cancel it
 * (disabled policy, cancel requested), hold it back (over the limits: re-sent with a delay, so
 * waiting never counts towards the dead-letter queue), or start its execution.
 */

/** What the dispatcher reads of a job. */
export type DispatchableJob = Pick<
  Job,
  'id' | 'attempt' | 'status' | 'policy' | 'destinationRegistry' | 'cancelRequested' | 'wait'
>;

export interface DispatchPorts {
  job(id: string): Promise<DispatchableJob | undefined>;
  policyEnabled(name: string): Promise<boolean>;
  /** Ends the job CANCELLED through the job lifecycle, only while it is still QUEUED. */
  cancel(jobId: string, reason: string): Promise<void>;
  /** Records that the job waits for a running slot (once: the same reason again writes nothing). */
  waitForSlot(job: DispatchableJob): Promise<void>;
  /** Takes a running slot (global and per destination) for the job; false when none is free. */
  acquireLease(job: DispatchableJob): Promise<boolean>;
  releaseLease(jobId: string): Promise<void>;
  /** Starts the execution `<job>-<attempt>`; an execution of that name already running counts as started. */
  startExecution(name: string, input: JobMessage): Promise<void>;
  /** Sends the message again, visible after `delaySeconds`. */
  requeue(message: QueuedJob, delaySeconds: number): Promise<void>;
}

export type DispatchOutcome = 'started' | 'cancelled' | 'delayed' | 'dropped';

/** SQS's longest delay. */
const MAX_DELAY_SECONDS = 900;

/** Waiting jobs come back after 2, 4, 8 … seconds, at most 60, with jitter so they do not return in step. */
export function admissionDelay(waits: number, random: () => number = Math.random): number {
  const ceiling = Math.min(60, 2 ** Math.min(waits + 1, 6));
  return Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2)));
}

export async function dispatchJob(ports: DispatchPorts, message: QueuedJob): Promise<DispatchOutcome> {
  const job = await ports.job(message.jobId);
  if (!job || isTerminal(job.status) || job.attempt !== message.attempt) return 'dropped';
  // A RUNNING job (a duplicate message, or one re-driven after a crash) is never ended here:
  // its execution may still run, and ending it would free its slot and hand its tag on. Its
  // execution sees a cancel request itself; starting `<job>-<attempt>` again is idempotent.
  const queued = job.status === 'QUEUED';
  if (queued && job.cancelRequested) {
    await ports.cancel(job.id, 'cancelled before it started');
    return 'cancelled';
  }
  if (queued && !(await ports.policyEnabled(job.policy))) {
    await ports.cancel(job.id, `policy ${job.policy} is disabled`);
    return 'cancelled';
  }
  if (!(await ports.acquireLease(job))) {
    if (queued) await ports.waitForSlot(job);
    const waits = (message.waits ?? 0) + 1;
    await ports.requeue({ jobId: job.id, attempt: job.attempt, waits }, admissionDelay(waits));
    return 'delayed';
  }
  try {
    await ports.startExecution(`${job.id}-${job.attempt}`, { jobId: job.id, attempt: job.attempt });
  } catch (error) {
    await ports.releaseLease(job.id);
    throw error;
  }
  // A duplicate message may take a slot for a job whose execution ended meanwhile (AWS answers
  // ExecutionAlreadyExists): give it back rather than hold it until the lease expires.
  const after = await ports.job(job.id);
  if (!after || isTerminal(after.status) || after.attempt !== job.attempt) await ports.releaseLease(job.id);
  return 'started';
}
