import { isTerminal, type Job } from '../jobs/job.ts';
import type { ExecutionInput, ExecutionStart, QueuedJob } from '../jobs/message.ts';

/**
 * The dispatcher's decision for one queued job message: drop it (stale or done), cancel it
 * (disabled policy, cancel requested), park it (no running slot free: it waits in the records,
 * in its destination's line, and a freed slot admits it — admission.ts), or start its
 * execution. Nothing is re-sent with a delay: a waiting job costs no receive and no write until
 * a slot frees.
 */

/** What the dispatcher reads of a job. */
export type DispatchableJob = Pick<
  Job,
  | 'id'
  | 'attempt'
  | 'action'
  | 'status'
  | 'policy'
  | 'destinationRegistry'
  | 'cancelRequested'
  | 'wait'
  | 'createdAt'
  | 'origin'
>;

export interface DispatchPorts {
  job(id: string): Promise<DispatchableJob | undefined>;
  policyEnabled(name: string): Promise<boolean>;
  /** Ends the job CANCELLED through the job lifecycle, only while it is still QUEUED. */
  cancel(jobId: string, reason: string): Promise<void>;
  /** Takes a running slot (global and per destination) for the job; false when none is free. */
  acquireLease(job: DispatchableJob): Promise<boolean>;
  /** True while the job holds its running slots (a woken job: admission took them for it). */
  holdsLease(jobId: string): Promise<boolean>;
  /** Frees the job's running slots; false when it held none. */
  releaseLease(jobId: string): Promise<boolean>;
  /** Starts the execution `<job>-<attempt>`: 'existed' when one of that name was there already. */
  startExecution(name: string, input: ExecutionInput): Promise<ExecutionStart>;
  /** Parks the job in its destination's line and records that it waits for a slot. */
  park(job: DispatchableJob): Promise<void>;
  /** True when jobs parked in the job's destination's line come before it. */
  waitsBehind(job: DispatchableJob): Promise<boolean>;
  /** Takes a job that starts out of its line (it may be there when its message came otherwise). */
  unpark(job: DispatchableJob): Promise<void>;
  /** Sends the parked jobs that fit into the free slots now (admission.ts). */
  admitParked(): Promise<void>;
}

export type DispatchOutcome = 'started' | 'cancelled' | 'parked' | 'dropped';

export async function dispatchJob(ports: DispatchPorts, message: QueuedJob): Promise<DispatchOutcome> {
  // A woken job's slots were taken for it (admission.ts): it only looks that they still are.
  // Its policy too, when the message names it: the hand-off then costs one round trip here.
  const [job, heldForWoken, policyEnabled] = await Promise.all([
    ports.job(message.jobId),
    message.woken ? ports.holdsLease(message.jobId) : false,
    message.policy === undefined ? undefined : ports.policyEnabled(message.policy),
  ]);
  if (!job || isTerminal(job.status) || job.attempt !== message.attempt) {
    // A woken job that ended meanwhile hands the slot taken for it on (admission.ts).
    if (message.woken && (!job || isTerminal(job.status)) && (await ports.releaseLease(message.jobId))) {
      await ports.admitParked();
    }
    return 'dropped';
  }
  // A RUNNING job (a duplicate message, or one re-driven after a crash) is never ended here:
  // its execution may still run, and ending it would free its slot and hand its tag on. Its
  // execution sees a cancel request itself; starting `<job>-<attempt>` again is idempotent.
  const queued = job.status === 'QUEUED';
  if (queued && job.cancelRequested) {
    await ports.cancel(job.id, 'cancelled before it started'); // its end frees any slot taken for it
    return 'cancelled';
  }
  // A job that waited in line may hold slots admission took for it though this message is not
  // its woken one (the reconciler's re-send of a lost wake-up): it starts in them rather than
  // queue up again while its woken message starts it (docs/architecture.md, "Admission").
  const held =
    heldForWoken ||
    (!message.woken && queued && job.wait?.reason === 'slot' && (await ports.holdsLease(job.id)));
  const [enabled, behind] = await Promise.all([
    !queued
      ? true
      : message.policy === job.policy && policyEnabled !== undefined
        ? policyEnabled
        : ports.policyEnabled(job.policy),
    // First come, first served: a new job with jobs ahead of it in its destination's line
    // queues up behind them rather than take a slot that frees now (a woken job is the one in
    // front; a RUNNING one keeps the slots it holds).
    queued && !held ? ports.waitsBehind(job) : false,
  ]);
  if (!enabled) {
    await ports.cancel(job.id, `policy ${job.policy} is disabled`);
    return 'cancelled';
  }
  const leased = held || (!behind && (await ports.acquireLease(job)));
  if (!leased) {
    // A RUNNING job without its slot was re-driven after a restart (its execution died with the
    // process, its lease with it): it waits in line too. One whose execution runs renews its lease.
    await ports.park(job);
    // A slot freed between the failed take and the parking would wake nobody: look again.
    await ports.admitParked();
    return 'parked';
  }
  let start: ExecutionStart;
  try {
    start = await ports.startExecution(`${job.id}-${job.attempt}`, {
      jobId: job.id,
      attempt: job.attempt,
      action: job.action,
    });
  } catch (error) {
    if (await ports.releaseLease(job.id)) await ports.admitParked();
    throw error;
  }
  // An execution this call started ends through the finalizer, which frees the slot: only one
  // that was there already may have ended meanwhile, so only then is the job read again.
  const [after] = await Promise.all([
    start === 'existed' ? ports.job(job.id) : job,
    // It may wait in line still (parked, then sent otherwise: a restart, the reconciler).
    !heldForWoken && (job.wait?.reason === 'slot' || job.status === 'RUNNING')
      ? ports.unpark(job)
      : undefined,
  ]);
  // A duplicate message may take a slot for a job whose execution ended meanwhile (AWS answers
  // ExecutionAlreadyExists): give it back rather than hold it until the lease expires.
  if (!after || isTerminal(after.status) || after.attempt !== job.attempt) {
    if (await ports.releaseLease(job.id)) await ports.admitParked();
  }
  return 'started';
}
