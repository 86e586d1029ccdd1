import type { SubmittedJob } from './job.ts';
import type { JobMessage } from './message.ts';

/**
 * The messages of jobs a scan or a drift run submitted, sent in batches (SQS takes ten at a
 * time): a submitted job that holds its tag (`enqueue`) is added, and a full batch goes out at
 * once. What was added is recorded already, so a run that fails still sends what it gathered
 * (`flush`) before it reports the error.
 */
export class JobBatches {
  readonly #send: (batch: JobMessage[]) => Promise<void>;
  readonly #size: number;
  #pending: JobMessage[] = [];

  constructor(send: (batch: JobMessage[]) => Promise<void>, size: number) {
    this.#send = send;
    this.#size = size;
  }

  /** Adds the job's message if it is to be sent; answers true when that filled a batch and sent it. */
  async add(submitted: SubmittedJob): Promise<boolean> {
    if (submitted.enqueue) this.#pending.push({ jobId: submitted.jobId, attempt: submitted.attempt });
    if (this.#pending.length < this.#size) return false;
    await this.flush();
    return true;
  }

  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    await this.#send(batch);
  }
}
