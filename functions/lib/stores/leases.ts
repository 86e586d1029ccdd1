import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * Running slots for admission (limits.runningJobs overall, limits.perDestination per
 * destination registry), without transactions or counters: slot items.
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

export interface LeaseRequest {
  jobId: string;
  /** The destination registry's name. */
  destination: string;
  globalLimit: number;
  perDestinationLimit: number;
  ttlSeconds: number;
}

interface Slot {
  pk: string;
  sk: string;
}

interface LeaseRecord {
  slots: Slot[];
  ttlSeconds: number;
  expiresAt: number;
}

const GLOBAL = 'lease#global';
const destinationScope = (destination: string) => `lease#dest#${destination}`;
const leaseKey = (jobId: string) => ({ pk: `job#${jobId}`, sk: 'lease' });

export class LeaseStore extends TableStore {
  #seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Takes one free slot of the scope, trying them from a random start so racers spread out. */
  async #takeSlot(scope: string, limit: number, jobId: string, expiresAt: number): Promise<Slot | undefined> {
    const start = Math.floor(Math.random() * limit);
    for (let i = 0; i < limit; i++) {
      const slot = { pk: scope, sk: `slot#${(start + i) % limit}` };
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...slot, jobId, expiresAt },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR jobId = :job',
            ExpressionAttributeValues: { ':now': this.#seconds(), ':job': jobId },
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
    for (const scope of [GLOBAL, ...destinations.map(destinationScope)]) {
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
          Key: slot,
          ConditionExpression: 'jobId = :job',
          ExpressionAttributeValues: { ':job': jobId },
        }),
      );
    } catch (error) {
      // Expired and taken by another job meanwhile: not ours to free.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** True when the job holds (or already held) a global and a destination slot. */
  async acquire(request: LeaseRequest): Promise<boolean> {
    const { jobId, ttlSeconds } = request;
    // A redelivered message for a job that holds its slots: keep them rather than take two more.
    if (await this.renew(jobId)) return true;
    const expiresAt = this.#seconds() + ttlSeconds;
    const global = await this.#takeSlot(GLOBAL, request.globalLimit, jobId, expiresAt);
    if (!global) return false;
    const perDestination = await this.#takeSlot(
      destinationScope(request.destination),
      request.perDestinationLimit,
      jobId,
      expiresAt,
    );
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

  /** Frees the job's slots; nothing when it holds none. */
  async release(jobId: string): Promise<void> {
    const record = await this.#record(jobId);
    if (!record) return;
    await Promise.all(record.slots.map((slot) => this.#freeSlot(slot, jobId)));
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: leaseKey(jobId) }));
  }

  /**
   * Extends the job's lease by its ttl. False when it holds none or lost a slot (expired and
   * taken by another job): then it holds nothing and must acquire again.
   */
  async renew(jobId: string): Promise<boolean> {
    const record = await this.#record(jobId);
    if (!record) return false;
    const now = this.#seconds();
    const expiresAt = now + record.ttlSeconds;
    try {
      for (const slot of [...record.slots, leaseKey(jobId)]) {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: slot,
            UpdateExpression: 'SET expiresAt = :expiresAt',
            ConditionExpression:
              slot.sk === 'lease' ? 'attribute_exists(pk)' : 'jobId = :job AND expiresAt >= :now',
            ExpressionAttributeValues:
              slot.sk === 'lease'
                ? { ':expiresAt': expiresAt }
                : { ':expiresAt': expiresAt, ':job': jobId, ':now': now },
          }),
        );
      }
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
          ':scope': destination === undefined ? GLOBAL : destinationScope(destination),
          ':now': this.#seconds(),
        },
        Select: 'COUNT',
      }),
    );
    return result.Count ?? 0;
  }
}
