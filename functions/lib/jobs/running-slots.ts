/**
 * Running slots for admission (limits.runningJobs overall, limits.perDestination per
 * destination registry; docs/architecture.md, "Admission"). A job runs while it holds one slot
 * of each scope; a lease expires by itself after `ttlSeconds` unless renewed, so a holder that
 * died frees its slots with nothing to clean up.
 *
 * Two implementations keep the same rules: the table's slot items when deployed, where many
 * dispatchers and workflow invocations race (functions/lib/stores/leases.ts), and this
 * process's memory in the local runtime, where one process runs every job and a restart starts
 * with every slot free anyway (process-slots.ts).
 */

export interface LeaseRequest {
  jobId: string;
  /** The destination registry's name. */
  destination: string;
  globalLimit: number;
  perDestinationLimit: number;
  ttlSeconds: number;
}

/** One slot: its scope (`lease#global`, `lease#dest#<registry>`) and its place in it (`slot#<k>`). */
export interface Slot {
  pk: string;
  sk: string;
}

export const GLOBAL_SCOPE = 'lease#global';
export const destinationScope = (destination: string) => `lease#dest#${destination}`;

export interface RunningSlots {
  /**
   * True when the job holds (or already held) a global and a destination slot. `renew: false`
   * skips looking for a lease the job holds already (admission takes slots for jobs that hold none).
   */
  acquire(request: LeaseRequest, options?: { renew?: boolean }): Promise<boolean>;
  /** True while the job holds an unexpired lease. */
  holds(jobId: string): Promise<boolean>;
  /** Frees the job's slots; false (and nothing done) when it holds none. */
  release(jobId: string): Promise<boolean>;
  /** Extends the job's lease; false when it holds none or lost a slot (then it holds nothing). */
  renew(jobId: string): Promise<boolean>;
  /** Unexpired leases overall, or of one destination. */
  countActive(destination?: string): Promise<number>;
  /** Every slot taken in the global scope and those of `destinations`, and who holds it (the reconciler's view). */
  slots(destinations: readonly string[]): Promise<(Slot & { jobId: string })[]>;
  /** Frees one slot, if `jobId` still holds it. */
  freeSlot(slot: Slot, jobId: string): Promise<void>;
  /** Frees every slot and lease (a restart where no execution can be running); answers how many items went. */
  clearAll(): Promise<number>;
}
