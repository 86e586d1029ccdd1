import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  destinationScope,
  GLOBAL_SCOPE,
  type LeaseRequest,
  type RunningSlots,
  type Slot,
} from '../jobs/running-slots.ts';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * Running slots for admission in the table, where many dispatchers and workflow invocations
 * race (the RunningSlots of functions/lib/jobs/running-slots.ts; the local runtime keeps
 * them in its memory: process-slots.ts), without transactions or counters: slot items.
 *
 * A scope has N slot items, `pk = lease#global` (or `lease#dest#<registry>`), `sk = slot#<k>`
 * for k in 0..N-1. A job takes a slot with a conditional put that wins only when the slot is
 * absent, expired or already the job's own; at most N puts can win, so at most N unexpired
 * leases exist, however many dispatchers race. A job needs one global and one destination
 * slot: it takes the global one first and gives it back when no destination slot is free.
 * A lease expires by itself (`expiresAt`): a crashed dispatcher or a lost finalizer event
 * frees its slots after `ttlSeconds` (longer than the longest execution: config/defaults.ts
 * `leaseTtlSeconds`) with nothing to clean up. A redelivered message for a job that holds its
 * slots `renew`s them instead of taking two more. `job#<id>/lease` records which slots a job
 * holds, for `release` and `renew`.
 *
 * Lowering a limit leaves slots at k ≥ the new limit held until their jobs release them.
 */

interface LeaseRecord {
  slots: Slot[];
  ttlSeconds: number;
  expiresAt: number;
}

const leaseKey = (jobId: string) => ({ pk: `job#${jobId}`, sk: 'lease' });

export class LeaseStore extends TableStore implements RunningSlots {
  /** The scope's slots free for the job now (one query): its own first, the others in a random order so racers spread out. */
  async #freeSlots(scope: string, limit: number, jobId: string, now: number): Promise<Slot[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :scope',
        ExpressionAttributeValues: { ':scope': scope },
        ConsistentRead: true,
      }),
    );
    const live = Items.filter((item) => (item.expiresAt as number) >= now);
    const holders = new Map(live.map((item) => [item.sk as string, item.jobId]));
    const slots = Array.from({ length: limit }, (_, k) => `slot#${k}`);
    // The job's own first: one an earlier acquire took and could not record (it failed half-way)
    // is taken back rather than a second one beside it.
    const own = slots.filter((sk) => holders.get(sk) === jobId);
    const free = slots.filter((sk) => !holders.has(sk));
    for (let i = free.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [free[i], free[j]] = [free[j] as string, free[i] as string];
    }
    return [...own, ...free].map((sk) => ({ pk: scope, sk }));
  }

  /** Takes the first of `free` still free, each with a conditional put that wins only while it is. */
  async #takeSlot(free: Slot[], jobId: string, now: number, expiresAt: number): Promise<Slot | undefined> {
    for (const slot of free) {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...slot, jobId, expiresAt },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR jobId = :job',
            ExpressionAttributeValues: { ':now': now, ':job': jobId },
          }),
        );
        return slot;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    }
    return undefined;
  }

  /**
   * Every slot taken, in the global scope and in the scopes of `destinations`: who holds it.
   * For the reconciler, which frees slots of jobs that have ended.
   */
  async slots(destinations: readonly string[]): Promise<(Slot & { jobId: string })[]> {
    const held: (Slot & { jobId: string })[] = [];
    for (const scope of [GLOBAL_SCOPE, ...destinations.map(destinationScope)]) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :scope',
          ExpressionAttributeValues: { ':scope': scope },
          ConsistentRead: true,
        }),
      );
      for (const item of result.Items ?? []) {
        if (typeof item.jobId === 'string')
          held.push({ pk: item.pk as string, sk: item.sk as string, jobId: item.jobId });
      }
    }
    return held;
  }

  /** Frees one slot, if `jobId` still holds it. */
  freeSlot(slot: Slot, jobId: string): Promise<void> {
    return this.#freeSlot(slot, jobId);
  }

  async #freeSlot(slot: Slot, jobId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          // The key only: a slot as `slots` lists it carries its holder too, which a key may not.
          Key: { pk: slot.pk, sk: slot.sk },
          ConditionExpression: 'jobId = :job',
          ExpressionAttributeValues: { ':job': jobId },
        }),
      );
    } catch (error) {
      // Expired and taken by another job meanwhile: not ours to free.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * True when the job holds (or already held) a global and a destination slot. Both scopes are
   * read at once, and a full one costs no write; then a global slot is taken, then one of the
   * destination (the global one given back when none is left). `renew: false` skips looking
   * for a lease the job holds already (admission takes slots for jobs that hold none).
   */
  async acquire(request: LeaseRequest, options: { renew?: boolean } = {}): Promise<boolean> {
    const { jobId, ttlSeconds } = request;
    // A redelivered message for a job that holds its slots: keep them rather than take two more.
    if (options.renew !== false && (await this.renew(jobId))) return true;
    const now = this.epochSeconds();
    const expiresAt = now + ttlSeconds;
    const [freeGlobal, freeForDestination] = await Promise.all([
      this.#freeSlots(GLOBAL_SCOPE, request.globalLimit, jobId, now),
      this.#freeSlots(destinationScope(request.destination), request.perDestinationLimit, jobId, now),
    ]);
    if (freeGlobal.length === 0 || freeForDestination.length === 0) return false;
    // The global slot first: racers for the last slots then lose at the first step, not one
    // slot each (which would leave both without a job).
    const global = await this.#takeSlot(freeGlobal, jobId, now, expiresAt);
    if (!global) return false;
    // A write that fails from here on (throttled, cut) leaves slots no lease record names; they
    // are not given back here — the same job may hold them through another acquire at the same
    // time, and a write reported failed may have landed — but listed first when the job acquires
    // again (its message comes back), so it takes them back rather than more.
    const perDestination = await this.#takeSlot(freeForDestination, jobId, now, expiresAt);
    if (!perDestination) {
      await this.#freeSlot(global, jobId);
      return false;
    }
    const record: LeaseRecord = { slots: [global, perDestination], ttlSeconds, expiresAt };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...leaseKey(jobId), ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // The same job acquired at the same time (a duplicate message in another batch) and
      // recorded its slots first: keep those, give back the ones only this call took.
      const winner = await this.#record(jobId);
      const held = new Set((winner?.slots ?? []).map((slot) => `${slot.pk} ${slot.sk}`));
      await Promise.all(
        record.slots
          .filter((slot) => !held.has(`${slot.pk} ${slot.sk}`))
          .map((slot) => this.#freeSlot(slot, jobId)),
      );
      return winner !== undefined;
    }
    return true;
  }

  async #record(jobId: string): Promise<LeaseRecord | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: leaseKey(jobId), ConsistentRead: true }),
    );
    return result.Item as LeaseRecord | undefined;
  }

  /** True while the job holds an unexpired lease (one read). */
  async holds(jobId: string): Promise<boolean> {
    const record = await this.#record(jobId);
    return record !== undefined && record.expiresAt >= this.epochSeconds();
  }

  /** Frees the job's slots; false (and nothing done) when it holds none. */
  async release(jobId: string): Promise<boolean> {
    const record = await this.#record(jobId);
    if (!record) return false;
    await Promise.all([
      ...record.slots.map((slot) => this.#freeSlot(slot, jobId)),
      this.client.send(new DeleteCommand({ TableName: this.tableName, Key: leaseKey(jobId) })),
    ]);
    return true;
  }

  /**
   * Extends the job's lease by its ttl. False when it holds none or lost a slot (expired and
   * taken by another job): then it holds nothing and must acquire again.
   */
  async renew(jobId: string): Promise<boolean> {
    const record = await this.#record(jobId);
    if (!record) return false;
    const now = this.epochSeconds();
    const expiresAt = now + record.ttlSeconds;
    try {
      const renewals = [...record.slots, leaseKey(jobId)].map((slot) =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: slot.pk, sk: slot.sk },
            UpdateExpression: 'SET expiresAt = :expiresAt',
            ConditionExpression:
              slot.sk === 'lease' ? 'attribute_exists(pk)' : 'jobId = :job AND expiresAt >= :now',
            ExpressionAttributeValues:
              slot.sk === 'lease'
                ? { ':expiresAt': expiresAt }
                : { ':expiresAt': expiresAt, ':job': jobId, ':now': now },
          }),
        ),
      );
      // Every renewal settles before a lost slot releases the rest (none left running behind it).
      const failed = (await Promise.allSettled(renewals)).find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      return true;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      await this.release(jobId);
      return false;
    }
  }

  /**
   * Frees every slot and lease record. Only for a process that knows no execution can be
   * running (the local runtime at start: executions live in its memory and died with it), so a
   * crash between a job's end and its release does not keep slots taken until they expire.
   */
  async clearAll(): Promise<number> {
    let cleared = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'begins_with(pk, :lease) OR sk = :record',
          ExpressionAttributeValues: { ':lease': 'lease#', ':record': 'lease' },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        await this.client.send(
          new DeleteCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk } }),
        );
        cleared++;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return cleared;
  }

  /** Unexpired leases overall, or of one destination. */
  async countActive(destination?: string): Promise<number> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :scope',
        FilterExpression: 'expiresAt >= :now',
        ExpressionAttributeValues: {
          ':scope': destination === undefined ? GLOBAL_SCOPE : destinationScope(destination),
          ':now': this.epochSeconds(),
        },
        Select: 'COUNT',
      }),
    );
    return result.Count ?? 0;
  }
}
