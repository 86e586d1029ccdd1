/**
 * A job whose every blob in flight waits for another job's copy of it lends its running slot
 * meanwhile (docs/architecture.md, "Admission"): the slot goes back, so the next job in line is
 * admitted instead of a slot idling while its holder waits. When a wait ends, the job takes a
 * slot again if one is free, and otherwise finishes without one: what is left of a waiter is
 * mostly a mount and its manifest. So a destination sees at most `perDestination` jobs moving
 * bytes, plus lenders finishing their mounts — and, rarely, a lender that copies the blob after
 * all (the copy it waited for failed, and it took the claim next) without a slot.
 *
 * The local runtime's: there every task of every job runs in one process, so this count of a
 * job's blobs in flight is whole. Deployed, a job's lanes run in separate invocations, and a
 * waiting lane hands its invocation back (SharedBlobBusyError: its Retry calls again later) but keeps
 * the job's slot.
 */

export interface LendingJob {
  id: string;
  destinationRegistry: string;
}

export interface SlotLendingPorts {
  /** Frees the job's running slots; false when it held none. */
  release(jobId: string): Promise<boolean>;
  /** Takes running slots for the job again, when free; false when none is. */
  take(job: LendingJob): Promise<boolean>;
  /** Admits the jobs in line that fit now (a slot was freed). */
  admitParked(): Promise<void>;
  /** Reports a failure of the above: lending is an optimisation, never a job's failure. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

interface Lender {
  /** Blobs of the job being mounted, copied or waited for. */
  inFlight: number;
  /** Of those, the ones waiting for another job's copy. */
  waiting: number;
  /** The job gave its slots back and has not taken any again. */
  lent: boolean;
  /** Lending and taking back, in the order they were decided. */
  turns: Promise<void>;
}

/**
 * What a blob of a job reports: its wait for another job's copy starting (answers the wait's
 * end), and its own end — a blob that ends still waiting (handed back to the workflow's Wait
 * state) leaves the job's slot lent.
 */
export interface LentBlob {
  waits(): () => void;
  ends(): void;
}

export class SlotLending {
  readonly #ports: SlotLendingPorts;
  readonly #jobs = new Map<string, Lender>();

  constructor(ports: SlotLendingPorts) {
    this.#ports = ports;
  }

  /** A blob of the job starts: call `ends` when it is mounted, copied or given up. */
  blob(job: LendingJob): LentBlob {
    const lender = this.#lender(job.id);
    lender.inFlight++;
    this.#decide(job, lender);
    let ended = false;
    let waiting = false;
    return {
      waits: () => {
        if (waiting || ended) return () => undefined;
        waiting = true;
        lender.waiting++;
        this.#decide(job, lender);
        return () => {
          if (!waiting || ended) return;
          waiting = false;
          lender.waiting--;
          this.#decide(job, lender);
        };
      },
      ends: () => {
        if (ended) return;
        ended = true;
        lender.inFlight--;
        // Still waiting (handed back to the state's Retry): the job stays as it was, lent or not.
        // Done with: the others in flight may all be waiting now.
        if (waiting) lender.waiting--;
        else this.#decide(job, lender);
      },
    };
  }

  /** The job ended (the job lifecycle's `afterEnd`): nothing of it is kept. */
  forget(jobId: string): void {
    this.#jobs.delete(jobId);
  }

  /** Whether the job has its slots lent now. */
  lends(jobId: string): boolean {
    return this.#jobs.get(jobId)?.lent === true;
  }

  #lender(jobId: string): Lender {
    let lender = this.#jobs.get(jobId);
    if (!lender) {
      lender = { inFlight: 0, waiting: 0, lent: false, turns: Promise.resolve() };
      this.#jobs.set(jobId, lender);
    }
    return lender;
  }

  #decide(job: LendingJob, lender: Lender): void {
    const onlyWaits = lender.waiting > 0 && lender.waiting === lender.inFlight;
    if (onlyWaits && !lender.lent) {
      lender.lent = true;
      this.#turn(lender, job, 'lend its slot', async () => {
        // Ended meanwhile: what it held went back at its end, and any slot under its id now is
        // a later attempt's.
        if (!this.#tracks(job.id, lender)) return;
        await this.#giveBack(job.id);
      });
    } else if (!onlyWaits && lender.lent) {
      lender.lent = false;
      this.#turn(lender, job, 'take a slot back', async () => {
        // The job can end while this turn waits for the one before it, or while it takes the
        // slot: its end found no slot to free, so one taken now would be held by a finished job
        // until the reconciler frees it, and the jobs in line would wait that long.
        if (!this.#tracks(job.id, lender)) return;
        if ((await this.#ports.take(job)) && !this.#tracks(job.id, lender)) await this.#giveBack(job.id);
      });
    }
  }

  /** Frees the job's slots and, when it held some, admits the jobs in line into them. */
  async #giveBack(jobId: string): Promise<void> {
    if (await this.#ports.release(jobId)) await this.#ports.admitParked();
  }

  /** The lender is still the job's: it has not ended (`forget`) since. */
  #tracks(jobId: string, lender: Lender): boolean {
    return this.#jobs.get(jobId) === lender;
  }

  #turn(lender: Lender, job: LendingJob, what: string, work: () => Promise<void>): void {
    lender.turns = lender.turns.then(work).catch((error: unknown) =>
      this.#ports.warn?.(`job ${job.id} could not ${what}`, {
        jobId: job.id,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }
}
