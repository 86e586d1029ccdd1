import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isTerminal, type JobAction } from '../jobs/job.ts';
import type { ClaimRequest, ClaimResult, Handover, TagLocks, TagRef } from '../jobs/tag-lock.ts';
import { isConditionFailed, StoreError } from './errors.ts';
import { jobKey } from './job-record.ts';
import { TableStore } from './table-store.ts';

/**
 * One lock per (policy, repository, tag): never two executions for one tag, and the newest
 * digest wins (the contract: functions/lib/jobs/tag-lock.ts; docs/architecture.md, "Records").
 *
 * The lock holds the job that may run for the tag (`jobId`, with the `holderDigest` and
 * `holderAction` it was submitted with), the newest digest and action seen (`digest`, `action`)
 * and at most one waiting job (`waitingJobId`), the one carrying that newest digest.
 * - A job claims the lock when it is free or its holder has finished.
 * - While an unfinished job holds it, a claim becomes the waiting job, displacing an older
 *   waiting one (the caller ends that one as superseded) — unless the waiting job carries the
 *   same digest and action: then it is covered, waits for nothing and the caller ends it. A
 *   claim of the holder's own digest waits too: if the holder fails, it runs; if the holder
 *   succeeds, the caller ends it at the handover (functions/lib/jobs/lifecycle.ts).
 * - When the holder ends, `release` hands the lock to the waiting job, which the caller enqueues.
 * So only the holder ever runs; everything else waits (one job at most) or was superseded.
 *
 * Ordering mistakes are benign: a job replicates the tag as it is at the source *now*, and a
 * delete removes the destination tag only while it still points to the deleted digest.
 * After a crash, re-drive an unfinished job only when `claim` answers claimed: true for it
 * (claims are idempotent: the holder claims again, a waiting job stays waiting).
 *
 * Every write is conditional on the `version` read; a lost race re-reads and decides again.
 */

export interface TagLock {
  /** The holder: the one job that may run for the tag. Absent when the lock is free. */
  jobId?: string | undefined;
  /** What the holder was submitted with. */
  holderDigest?: string | undefined;
  holderAction?: JobAction | undefined;
  /** The newest digest and action seen for the tag: the waiting job's when there is one. */
  digest?: string | undefined;
  action: JobAction;
  waitingJobId?: string | undefined;
  updatedAt: string;
}

interface LockItem extends TagLock {
  pk: string;
  sk: string;
  version: number;
}

const MAX_RACES = 25;

export class TagLockStore extends TableStore implements TagLocks {
  #key(ref: TagRef) {
    return { pk: `taglock#${ref.policy}#${ref.repository}:${ref.tag}`, sk: 'taglock' };
  }

  async #read(ref: TagRef): Promise<LockItem | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.#key(ref), ConsistentRead: true }),
    );
    return result.Item as LockItem | undefined;
  }

  async get(ref: TagRef): Promise<TagLock | undefined> {
    const item = await this.#read(ref);
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, version: _v, ...lock } = item;
    return lock;
  }

  /** A job missing from the records counts as finished: it can hold nothing. */
  async #unfinished(jobId: string): Promise<boolean> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }),
    );
    const status = result.Item?.status;
    return typeof status === 'string' && !isTerminal(status);
  }

  /** Writes the lock if nobody wrote it since `read` (absent: if it is still absent). False on a lost race. */
  async #write(ref: TagRef, read: LockItem | undefined, lock: TagLock): Promise<boolean> {
    const version = read?.version ?? 0;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.#key(ref),
            ...lock,
            updatedAt: this.iso(),
            version: version + 1,
          },
          ...(read
            ? {
                ConditionExpression: 'version = :version',
                ExpressionAttributeValues: { ':version': version },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const { jobId, digest, action } = request;
    for (let race = 0; race < MAX_RACES; race++) {
      const lock = await this.#read(request);
      if (lock?.jobId === jobId) return { claimed: true, fresh: false };
      const holder = lock?.jobId;
      if (holder === undefined || !(await this.#unfinished(holder))) {
        const displaced =
          lock?.waitingJobId !== undefined && lock.waitingJobId !== jobId ? lock.waitingJobId : undefined;
        const lockForMe = {
          jobId,
          holderDigest: digest,
          holderAction: action,
          digest,
          action,
          updatedAt: '',
        };
        if (await this.#write(request, lock, lockForMe)) {
          return displaced ? { claimed: true, fresh: true, displaced } : { claimed: true, fresh: true };
        }
        continue;
      }
      if (lock === undefined) continue;
      if (lock.waitingJobId === jobId) return { claimed: false, holder, waits: true };
      // Already on its way: the waiting job carries this digest and action.
      if (lock.waitingJobId !== undefined && lock.digest === digest && lock.action === action)
        return { claimed: false, holder, waits: false };
      const displaced = lock.waitingJobId;
      if (await this.#write(request, lock, { ...lock, digest, action, waitingJobId: jobId })) {
        return displaced
          ? { claimed: false, holder, waits: true, displaced }
          : { claimed: false, holder, waits: true };
      }
    }
    throw new StoreError(`tag lock ${this.#key(request).pk}: gave up after ${MAX_RACES} conflicting writes`);
  }

  /**
   * The holder's end: hands the lock to the waiting job (answered, to be enqueued) or frees it.
   * A waiting job that ends (cancelled) gives up its turn. Anyone else changes nothing.
   * The lock item stays (free) with the newest digest seen.
   */
  async release(request: TagRef & { jobId: string }): Promise<Handover | undefined> {
    for (let race = 0; race < MAX_RACES; race++) {
      const lock = await this.#read(request);
      if (!lock) return undefined;
      const { jobId: holder, holderDigest, holderAction, waitingJobId, ...rest } = lock;
      if (holder === request.jobId) {
        // A waiting job that ended meanwhile (cancelled) gets nothing to run.
        const next =
          waitingJobId !== undefined && (await this.#unfinished(waitingJobId)) ? waitingJobId : undefined;
        const handedOver = { ...rest, jobId: next, holderDigest: lock.digest, holderAction: lock.action };
        if (await this.#write(request, lock, next ? handedOver : rest)) {
          return next
            ? { jobId: next, action: lock.action, ...(lock.digest ? { digest: lock.digest } : {}) }
            : undefined;
        }
      } else if (waitingJobId === request.jobId) {
        // The newest digest seen stays recorded; the next claim compares with the holder's again.
        if (await this.#write(request, lock, { ...rest, jobId: holder, holderDigest, holderAction }))
          return undefined;
      } else {
        return undefined;
      }
    }
    throw new StoreError(`tag lock ${this.#key(request).pk}: gave up after ${MAX_RACES} conflicting writes`);
  }
}
