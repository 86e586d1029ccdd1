import { type EndingPorts, endJob } from '../jobs/lifecycle.ts';
import { ConflictError } from '../stores/errors.ts';
import { isTerminal, type Job, type TerminalStatus } from '../stores/job-record.ts';
import type { JobStore, NewJob } from '../stores/jobs.ts';
import type { LeaseStore } from '../stores/leases.ts';
import type { TagLockStore } from '../stores/tag-locks.ts';
import type { SubmittedJob } from '../webhook/accept-delivery.ts';
import type { JobError } from '../workflow/ports.ts';
import type { JobQueue } from './job-queue.ts';

/**
 * A job's way in and out of the records, whoever drives it (webhook, scan, API, workflow,
 * finalizer, dead-letter consumer): recorded, its tag claimed, queued; and at its end, its
 * running slot freed and its tag handed to the newer digest that waited, which is queued then.
 */
export class JobLifecycle {
  readonly #jobs: JobStore;
  readonly #locks: TagLockStore;
  readonly #leases: LeaseStore;
  readonly #queue: JobQueue;
  readonly #onEnded: (status: TerminalStatus) => void;

  constructor(parts: {
    jobs: JobStore;
    locks: TagLockStore;
    leases: LeaseStore;
    queue: JobQueue;
    /** Called once per job that ends here (metrics). */
    onEnded?: (status: TerminalStatus) => void;
  }) {
    this.#jobs = parts.jobs;
    this.#locks = parts.locks;
    this.#leases = parts.leases;
    this.#queue = parts.queue;
    this.#onEnded = parts.onEnded ?? (() => undefined);
  }

  /**
   * Records the job (an existing id changes nothing: the same delivery twice is one job) and
   * claims its tag. Answers enqueue: true when the job holds the tag and waits in QUEUED: the
   * caller sends its message. A job that waits behind the tag's holder is sent when that one
   * ends; a job whose digest is already on its way ends SKIPPED at once.
   */
  async submit(input: NewJob): Promise<SubmittedJob> {
    let job: Job;
    try {
      job = await this.#jobs.create(input);
    } catch (error) {
      if (!(error instanceof ConflictError) || input.id === undefined) throw error;
      const existing = await this.#jobs.get(input.id);
      if (!existing) throw error;
      job = existing;
    }
    if (job.status !== 'QUEUED') return { jobId: job.id, enqueue: false, attempt: job.attempt };
    return this.#claim(job);
  }

  /** A retried job (a new attempt, QUEUED again) claims its tag again before it is queued. */
  async requeue(job: Job): Promise<SubmittedJob> {
    const submitted = await this.#claim(job);
    if (submitted.enqueue) await this.#queue.send([{ jobId: job.id, attempt: job.attempt }]);
    return submitted;
  }

  async #claim(job: Job): Promise<SubmittedJob> {
    const claim = await this.#locks.claim({
      policy: job.policy,
      repository: job.sourceRepository,
      tag: job.tag,
      digest: job.digest,
      action: job.action,
      jobId: job.id,
    });
    if (claim.displaced) {
      await this.#jobs.finish(claim.displaced, 'SKIPPED', {
        note: `superseded by job ${job.id}, which carries a newer digest`,
      });
    }
    const submitted = { jobId: job.id, attempt: job.attempt };
    if (claim.claimed) return { ...submitted, enqueue: true };
    if (!claim.superseded) {
      await this.#jobs.finish(job.id, 'SKIPPED', {
        note: `job ${claim.holder} already replicates this digest`,
      });
    }
    return { ...submitted, enqueue: false };
  }

  /** Ends the job (once), frees its slot and hands its tag on. False when it had ended already. */
  /**
   * With `attempt`, only that attempt may end the job: an older execution still running after a
   * retry changes nothing (and frees nothing the new attempt holds).
   */
  async end(jobId: string, status: TerminalStatus, error?: JobError, attempt?: number): Promise<boolean> {
    if (attempt !== undefined) {
      const job = await this.#jobs.get(jobId);
      if (job && job.attempt !== attempt) return false;
    }
    const ended = await endJob(this.endingPorts, jobId, status, error);
    if (ended) this.#onEnded(status);
    return ended;
  }

  /** Asks a job to stop: a queued one ends CANCELLED now (its tag handed on), a running one at its next check. */
  async cancel(jobId: string): Promise<Job> {
    const job = await this.#jobs.requestCancel(jobId);
    if (job.status === 'CANCELLED') await this.endingPorts.releaseTagLock(jobId);
    return job;
  }

  readonly endingPorts: EndingPorts = {
    finish: (jobId, status, error) => this.#jobs.finish(jobId, status, { error }),
    releaseLease: (jobId) => this.#leases.release(jobId),
    releaseTagLock: async (jobId) => {
      const job = await this.#jobs.get(jobId);
      if (!job) return;
      const handover = await this.#locks.release({
        policy: job.policy,
        repository: job.sourceRepository,
        tag: job.tag,
        jobId,
      });
      if (!handover) return;
      const next = await this.#jobs.get(handover.jobId);
      if (next && !isTerminal(next.status)) {
        await this.#queue.send([{ jobId: next.id, attempt: next.attempt }]);
      }
    },
  };
}
