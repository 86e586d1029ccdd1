import { JobExistsError } from './errors.ts';
import {
  isTerminal,
  type Job,
  type JobWait,
  type NewJob,
  type SubmittedJob,
  type TerminalStatus,
} from './job.ts';
import type { JobMessage } from './message.ts';
import type { TagLocks } from './tag-lock.ts';
import type { EndOptions } from './transitions.ts';

/**
 * A job's way in and out, whoever drives it (webhook, scan, API, dispatcher, workflow,
 * finalizer, dead-letter consumer): recorded, its tag claimed, queued; and at its end — through
 * `end`, the one way every final status is reached — its running slot freed and its tag handed
 * to the newer digest that waited, which is queued then. The stores, the jobs queue and the
 * leases are ports: the same code runs on DynamoDB and SQS, dynalite and fauxqs.
 */

/** What the lifecycle writes to the job records (functions/lib/stores/jobs.ts). */
export interface JobRecords {
  /** Records a new QUEUED job; JobExistsError when its id is taken. */
  create(input: NewJob): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /**
   * Writes the final status (once): `ended` false when the job had ended already or was not in
   * `from`; `job` as it is now.
   */
  endRecord(id: string, status: TerminalStatus, options?: EndOptions): Promise<{ job: Job; ended: boolean }>;
  /** Sets the cancel flag of an unfinished job; answers the job as it is now. */
  requestCancel(id: string): Promise<Job>;
  /** A FAILED or CANCELLED job QUEUED again as a new attempt. */
  retry(id: string): Promise<Job>;
  /** Why a QUEUED job is not moving, or (undefined) that it moves again. */
  setWait(id: string, wait: JobWait | undefined): Promise<void>;
}

export interface LifecyclePorts {
  records: JobRecords;
  locks: TagLocks;
  /** Frees the job's running slots; nothing when it holds none. */
  releaseLease(jobId: string): Promise<boolean>;
  /**
   * After a job's end: take it out of any line it was parked in, and — when it freed a slot —
   * admit the next parked job (functions/lib/dispatch/admission.ts).
   */
  afterEnd?: ((job: Job, freedSlot: boolean) => Promise<void>) | undefined;
  /** Sends job messages to the jobs queue. */
  enqueue(messages: JobMessage[]): Promise<void>;
  /** Called once for each job that ends (metrics). */
  onEnded?: ((status: TerminalStatus) => void) | undefined;
  now?: (() => number) | undefined;
}

/** How a job is ended (transitions.ts `EndOptions`: `from`, `attempt`, the error, a note). */
export type EndRequest = EndOptions;

export class JobLifecycle {
  readonly #ports: LifecyclePorts;

  constructor(ports: LifecyclePorts) {
    this.#ports = ports;
  }

  #since(): string {
    return new Date((this.#ports.now ?? Date.now)()).toISOString();
  }

  /**
   * Records the job (an existing id changes nothing: the same delivery twice is one job) and
   * claims its tag. Answers enqueue: true when the job holds the tag and waits in QUEUED: the
   * caller sends its message (in a batch with others). A job that waits behind the tag's holder
   * is sent when that one ends; a job whose digest is already on its way ends SKIPPED at once.
   */
  async submit(input: NewJob): Promise<SubmittedJob> {
    let job: Job;
    try {
      job = await this.#ports.records.create(input);
    } catch (error) {
      if (!(error instanceof JobExistsError) || input.id === undefined) throw error;
      const existing = await this.#ports.records.get(input.id);
      if (!existing) throw error;
      job = existing;
    }
    if (job.status !== 'QUEUED') return { jobId: job.id, enqueue: false, attempt: job.attempt };
    // Only a new claim sends a message: a delivery repeated finds its job holding the tag
    // already, its message sent (or, after a crash in between, the reconciler's to send).
    const { submitted, fresh } = await this.#claim(job);
    return fresh ? submitted : { ...submitted, enqueue: false };
  }

  /** Claims the tag again for an unfinished job (a retry, a restart) and sends it when it holds the tag. */
  async requeue(job: Job): Promise<SubmittedJob> {
    const { submitted } = await this.#claim(job);
    if (submitted.enqueue) await this.#ports.enqueue([{ jobId: job.id, attempt: job.attempt }]);
    return submitted;
  }

  async #claim(job: Job): Promise<{ submitted: SubmittedJob; fresh: boolean }> {
    const claim = await this.#ports.locks.claim({
      policy: job.policy,
      repository: job.sourceRepository,
      tag: job.tag,
      digest: job.digest,
      action: job.action,
      jobId: job.id,
    });
    if (claim.displaced) {
      await this.end(claim.displaced, 'SKIPPED', {
        note: `superseded by job ${job.id}, which carries a newer digest`,
      });
    }
    const submitted = { jobId: job.id, attempt: job.attempt };
    if (claim.claimed) return { submitted: { ...submitted, enqueue: true }, fresh: claim.fresh };
    if (claim.waits) {
      await this.#ports.records.setWait(job.id, {
        reason: 'tag',
        since: this.#since(),
        holder: claim.holder,
      });
    } else {
      await this.end(job.id, 'SKIPPED', { note: 'the job waiting for this tag already carries this digest' });
    }
    return { submitted: { ...submitted, enqueue: false }, fresh: true };
  }

  /**
   * The one way a job ends: records the final status (once), frees its running slot and hands
   * its tag on. Answers false when the job had ended already (or is not in `from`, or another
   * attempt runs it); the slot and the tag are released either way, both idempotent.
   */
  async end(jobId: string, status: TerminalStatus, request: EndRequest = {}): Promise<boolean> {
    const { job, ended } = await this.#ports.records.endRecord(jobId, status, request);
    // Another attempt runs the job: its slot and tag are that attempt's.
    if (request.attempt !== undefined && job.attempt !== request.attempt) return false;
    if (request.from !== undefined && !ended) return false; // not ours to end: release nothing
    // The slot first and its hand-off at once (a parked job waits on it); the tag meanwhile.
    await Promise.all([
      this.#ports.releaseLease(jobId).then((freedSlot) => this.#ports.afterEnd?.(job, freedSlot)),
      this.#releaseTagLock(job),
    ]);
    if (ended) this.#ports.onEnded?.(status);
    return ended;
  }

  /** Asks a job to stop: a QUEUED one ends CANCELLED now (its tag handed on), a RUNNING one at its next check. */
  async cancel(jobId: string): Promise<Job> {
    const ended = await this.end(jobId, 'CANCELLED', {
      from: ['QUEUED'],
      cancelRequested: true,
      note: 'cancelled before it started',
    });
    if (ended) return (await this.#ports.records.get(jobId)) as Job;
    return this.#ports.records.requestCancel(jobId);
  }

  /** A FAILED or CANCELLED job runs again as a new attempt: it claims its tag, then is queued. */
  async retry(jobId: string): Promise<Job> {
    const job = await this.#ports.records.retry(jobId);
    await this.requeue(job);
    return job;
  }

  async #releaseTagLock(job: Job): Promise<void> {
    const jobId = job.id;
    const handover = await this.#ports.locks.release({
      policy: job.policy,
      repository: job.sourceRepository,
      tag: job.tag,
      jobId,
    });
    if (!handover) return;
    const next = await this.#ports.records.get(handover.jobId);
    if (!next || isTerminal(next.status)) return;
    // The holder replicated this very digest: the waiting job has nothing left to do. Had the
    // holder failed or been cancelled, the waiting job runs: the digest is not lost.
    if (
      (job.status === 'SUCCEEDED' || job.status === 'SKIPPED') &&
      job.digest === next.digest &&
      job.action === next.action &&
      next.digest !== undefined
    ) {
      await this.end(next.id, 'SKIPPED', { note: `job ${jobId} replicated this digest` });
      return;
    }
    await this.#ports.records.setWait(next.id, undefined);
    await this.#ports.enqueue([{ jobId: next.id, attempt: next.attempt }]);
  }
}
