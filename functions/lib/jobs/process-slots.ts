import {
  destinationScope,
  GLOBAL_SCOPE,
  type LeaseRequest,
  type RunningSlots,
  type Slot,
} from './running-slots.ts';

interface Holder {
  jobId: string;
  expiresAt: number;
}

interface Lease {
  slots: Slot[];
  ttlSeconds: number;
  expiresAt: number;
}

/**
 * The running slots of one process: the local runtime's, where every dispatcher, workflow task
 * and the reconciler run in the process that holds them (docs/architecture.md, "Admission").
 * The rules are the table's (functions/lib/stores/leases.ts): at most `limit` unexpired
 * holders per scope, a job holds one slot of each scope or none, a lease expires by itself
 * unless renewed. Each operation runs to its end without yielding, so racing callers cannot
 * interleave inside one: no conditional writes to lose, no slot to give back. Nothing is
 * persisted: a restart frees every slot anyway (no execution outlives the process), and the
 * jobs that were running are driven again from their records.
 *
 * Against the table this spares the hand-off of a freed slot its round trips to the records —
 * reading the lease, freeing two slots, counting, taking two slots and recording them — and a
 * burst of jobs about a fifth of its record operations (docs/performance.md).
 */
export class ProcessSlots implements RunningSlots {
  readonly #now: () => number;
  /** scope → slot key → who holds it (expired holders stay until a taker overwrites them). */
  readonly #scopes = new Map<string, Map<string, Holder>>();
  readonly #leases = new Map<string, Lease>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #scope(pk: string): Map<string, Holder> {
    let scope = this.#scopes.get(pk);
    if (!scope) {
      scope = new Map();
      this.#scopes.set(pk, scope);
    }
    return scope;
  }

  /** The first slot of the scope free for the job now (absent, expired, or its own). */
  #freeSlot(pk: string, limit: number, jobId: string, now: number): Slot | undefined {
    const scope = this.#scope(pk);
    for (let k = 0; k < limit; k++) {
      const holder = scope.get(`slot#${k}`);
      if (!holder || holder.expiresAt < now || holder.jobId === jobId) return { pk, sk: `slot#${k}` };
    }
    return undefined;
  }

  #holdsAll(jobId: string, lease: Lease, now: number): boolean {
    return lease.slots.every((slot) => {
      const holder = this.#scopes.get(slot.pk)?.get(slot.sk);
      return holder?.jobId === jobId && holder.expiresAt >= now;
    });
  }

  async acquire(request: LeaseRequest, options: { renew?: boolean } = {}): Promise<boolean> {
    const { jobId, ttlSeconds } = request;
    if (options.renew !== false && (await this.renew(jobId))) return true;
    const now = this.#seconds();
    // A lease it holds whole already (a duplicate at once): keep it rather than take two more.
    const held = this.#leases.get(jobId);
    if (held && this.#holdsAll(jobId, held, now)) return true;
    this.#drop(jobId);
    const global = this.#freeSlot(GLOBAL_SCOPE, request.globalLimit, jobId, now);
    const perDestination = this.#freeSlot(
      destinationScope(request.destination),
      request.perDestinationLimit,
      jobId,
      now,
    );
    if (!global || !perDestination) return false;
    const expiresAt = now + ttlSeconds;
    for (const slot of [global, perDestination]) this.#scope(slot.pk).set(slot.sk, { jobId, expiresAt });
    this.#leases.set(jobId, { slots: [global, perDestination], ttlSeconds, expiresAt });
    return true;
  }

  async holds(jobId: string): Promise<boolean> {
    const lease = this.#leases.get(jobId);
    return lease !== undefined && lease.expiresAt >= this.#seconds();
  }

  async release(jobId: string): Promise<boolean> {
    if (!this.#leases.has(jobId)) return false;
    this.#drop(jobId);
    return true;
  }

  /** Frees the slots the job's lease lists (those it still holds) and forgets the lease. */
  #drop(jobId: string): void {
    for (const slot of this.#leases.get(jobId)?.slots ?? []) this.#free(slot, jobId);
    this.#leases.delete(jobId);
  }

  #free(slot: Slot, jobId: string): void {
    const scope = this.#scopes.get(slot.pk);
    if (scope?.get(slot.sk)?.jobId === jobId) scope.delete(slot.sk);
  }

  async renew(jobId: string): Promise<boolean> {
    const lease = this.#leases.get(jobId);
    if (!lease) return false;
    const now = this.#seconds();
    if (!this.#holdsAll(jobId, lease, now)) {
      this.#drop(jobId);
      return false;
    }
    lease.expiresAt = now + lease.ttlSeconds;
    for (const slot of lease.slots) this.#scope(slot.pk).set(slot.sk, { jobId, expiresAt: lease.expiresAt });
    return true;
  }

  async countActive(destination?: string): Promise<number> {
    const now = this.#seconds();
    const scope = this.#scopes.get(destination === undefined ? GLOBAL_SCOPE : destinationScope(destination));
    let active = 0;
    for (const holder of scope?.values() ?? []) if (holder.expiresAt >= now) active++;
    return active;
  }

  async slots(destinations: readonly string[]): Promise<(Slot & { jobId: string })[]> {
    const held: (Slot & { jobId: string })[] = [];
    for (const pk of [GLOBAL_SCOPE, ...destinations.map(destinationScope)]) {
      for (const [sk, holder] of this.#scopes.get(pk) ?? []) held.push({ pk, sk, jobId: holder.jobId });
    }
    return held;
  }

  async freeSlot(slot: Slot, jobId: string): Promise<void> {
    this.#free(slot, jobId);
  }

  async clearAll(): Promise<number> {
    let cleared = this.#leases.size;
    for (const scope of this.#scopes.values()) cleared += scope.size;
    this.#scopes.clear();
    this.#leases.clear();
    return cleared;
  }
}
