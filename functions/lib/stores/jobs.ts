import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { JobExistsError, JobNotFoundError } from '../jobs/errors.ts';
import {
  HISTORY_LIMIT,
  isTerminal,
  type Job,
  type JobStatus,
  type JobWait,
  type KeptLane,
  type NewJob,
  type Progress,
  type TerminalStatus,
  UNFINISHED_STATUSES,
} from '../jobs/job.ts';
import type { JobRecords } from '../jobs/lifecycle.ts';
import {
  type EndOptions,
  end,
  queuedJob,
  remark,
  requestCancel,
  retry,
  setWait,
  startRunning,
  type Transition,
  withHistory,
} from '../jobs/transitions.ts';
import { isConditionFailed, StoreError } from './errors.ts';
import { listIndex, type Page } from './index-listing.ts';
import { newJobId } from './job-ids.ts';
import { JOB_INDEX_KEYS, JOB_INDEXES, type JobIndex, type JobIndexNames } from './job-indexes.ts';
import { fromItem, type JobItem, jobKey, policyIndexKey, statusIndexKey, toItem } from './job-record.ts';
import { TableStore } from './table-store.ts';

/**
 * The job records: the truth about every job (docs/architecture.md: records are the truth;
 * queues and executions are transport).
 *
 * Status changes read the item, apply one of the job model's transitions
 * (functions/lib/jobs/transitions.ts) and put the result back conditional on the `version`
 * they read; a lost race re-reads and decides again. Progress writes (setSubstate, keepLane)
 * are single UpdateItems that bump `version` too, so a status change decided on an older read
 * never overwrites them. No transactions (dynalite has none).
 */

export interface ListOptions {
  limit?: number;
  cursor?: string | undefined;
}

export interface JobPage {
  jobs: Job[];
  cursor?: string;
}

const MAX_RACES = 25;

export interface JobStoreOptions {
  now?: () => number;
  /** Days a final job's record is kept after it finished; without it, records never expire. */
  keepDays?: number | undefined;
  /**
   * The store is its records' only writer (the local runtime): unfinished jobs are kept as this
   * store last read or wrote them, and read from memory (docs/architecture.md, "Records").
   */
  soleWriter?: boolean | undefined;
  /** The names of the table's job indexes (default JOB_INDEXES; a table made before them: LEGACY_JOB_INDEXES). */
  indexes?: JobIndexNames | undefined;
}

/** Unfinished jobs a sole writer keeps (a few KB each); the least recently used go first. */
const KEPT_JOBS = 10_000;

export class JobStore extends TableStore implements JobRecords {
  readonly #keepSeconds: number | undefined;
  /**
   * With `soleWriter`: each unfinished job's item as last read or written, by id. A final job is
   * dropped (the sweeper deletes final jobs behind the store's back); an item answered after a
   * newer one of the same job (two writes at once) does not replace it.
   */
  readonly #kept: Map<string, JobItem> | undefined;
  /** With `soleWriter`: the version each dropped final job ended at, so a read answered late cannot bring it back. */
  readonly #ended: Map<string, number> | undefined;
  readonly #indexes: JobIndexNames;

  constructor(client: DynamoDBDocumentClient, tableName: string, options: JobStoreOptions = {}) {
    super(client, tableName, options.now ? { now: options.now } : {});
    this.#keepSeconds = options.keepDays === undefined ? undefined : options.keepDays * 86_400;
    this.#kept = options.soleWriter ? new Map() : undefined;
    this.#ended = options.soleWriter ? new Map() : undefined;
    this.#indexes = options.indexes ?? JOB_INDEXES;
  }

  /** Keeps the item as the job's latest, while it is unfinished (the most recently used). */
  #keep(item: JobItem): void {
    const kept = this.#kept;
    const ended = this.#ended;
    if (!kept || !ended) return;
    const id = item.id;
    if ((kept.get(id)?.version ?? ended.get(id) ?? 0) > item.version) return;
    kept.delete(id);
    ended.delete(id);
    if (isTerminal(item.status)) ended.set(id, item.version);
    else kept.set(id, item);
    for (const map of [kept, ended]) if (map.size > KEPT_JOBS) map.delete(map.keys().next().value as string);
  }

  async create(input: NewJob): Promise<Job> {
    const job = queuedJob({ ...input, id: input.id ?? newJobId(this.now()) }, this.iso());
    const item = toItem(job, 1, this.#keepSeconds);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailed(error))
        throw new JobExistsError(`job ${job.id} exists already`, { cause: error });
      throw error;
    }
    this.#keep(structuredClone(item));
    return job;
  }

  async #read(id: string): Promise<JobItem | undefined> {
    const known = this.#kept?.get(id);
    // A copy: callers change the job they get (tasks keep their substate in step).
    if (known) return structuredClone(known);
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: jobKey(id), ConsistentRead: true }),
    );
    const item = result.Item as JobItem | undefined;
    if (item) this.#keep(structuredClone(item));
    return item;
  }

  async get(id: string): Promise<Job | undefined> {
    const item = await this.#read(id);
    return item && fromItem(item);
  }

  /**
   * Reads, lets `decide` answer the changed job (or undefined: nothing to change), and writes it
   * back only if nobody wrote in between.
   */
  async #transition(
    id: string,
    decide: (job: Job, at: string) => Transition | undefined,
  ): Promise<{ job: Job; changed: boolean }> {
    for (let race = 0; race < MAX_RACES; race++) {
      const item = await this.#read(id);
      if (!item) throw new JobNotFoundError(`job ${id} is not in the records`);
      const at = this.iso();
      const current = fromItem(item);
      const decision = decide(current, at);
      if (!decision) return { job: current, changed: false };
      const { job: next, note } = decision;
      const entry = {
        at,
        status: next.status,
        attempt: next.attempt,
        ...(next.substate ? { substate: next.substate } : {}),
      };
      const job: Job = {
        ...next,
        updatedAt: at,
        history: withHistory(current.history, { ...entry, ...(note ? { note } : {}) }),
      };
      const written = toItem(job, item.version + 1, this.#keepSeconds);
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: written,
            ConditionExpression: 'version = :version',
            ExpressionAttributeValues: { ':version': item.version },
          }),
        );
        this.#keep(structuredClone(written));
        return { job, changed: true };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        // What this store kept is not the job as it is: read it again.
        this.#kept?.delete(id);
        // Progress written meanwhile (or another status change): decide again on the new state.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * (race + 1)));
      }
    }
    throw new StoreError(`job ${id}: gave up after ${MAX_RACES} conflicting writes`);
  }

  /**
   * RUNNING for this attempt and execution (transitions.ts `startRunning`): the same execution
   * again answers the job unchanged; a stale execution or a finished job is a JobTransitionError.
   */
  async markRunning(id: string, attempt: number, executionArn: string, substate?: string): Promise<Job> {
    const { job } = await this.#transition(id, (job, at) =>
      startRunning(job, attempt, executionArn, at, substate),
    );
    return job;
  }

  /**
   * Records the substate being entered (a history entry when it changes, while there is room)
   * and adds progress. Only a RUNNING job takes it: answers false otherwise. The history entry
   * names the attempt, which an update cannot copy into a list: a caller that read the job
   * passes it as `known` (with its substate then), else it is read first.
   */
  async setSubstate(
    id: string,
    substate: string,
    progress: Progress = {},
    known?: { attempt: number; substate?: string | undefined },
    options: { passing?: string | undefined } = {},
  ): Promise<boolean> {
    const job = known ?? (await this.get(id));
    if (!job) throw new JobNotFoundError(`job ${id} is not in the records`);
    if (!known && (job as Job).status !== 'RUNNING') return false;
    // The same substate again (as the caller read it) takes no entry: skip the update that would fail.
    const written = await this.#writeSubstate(id, substate, {
      attempt: job.attempt,
      progress,
      entry: known?.substate !== substate,
      passing: options.passing,
    });
    return written !== undefined;
  }

  /**
   * A workflow task's first write in one round trip: the substate entered (with its history
   * entry) only while the job runs this attempt and is not cancelled; answers the job as it is
   * now. The same substate again (a blob after the first in the Map, a copy's next chunk) or a
   * full history takes a second write without the entry, as `setSubstate` does. Undefined when
   * the job does not run this attempt or was cancelled: the caller then reads it to learn which
   * (tasks.ts `load`).
   */
  async enterSubstate(
    id: string,
    attempt: number,
    substate: string,
    options: { entry?: boolean } = {},
  ): Promise<Job | undefined> {
    const written = await this.#writeSubstate(id, substate, {
      attempt,
      thisAttempt: true,
      answer: true,
      ...(options.entry === false ? { entry: false } : {}),
    });
    return written?.item && fromItem(written.item);
  }

  /**
   * One substate write, conditional on the job running (and, with `thisAttempt`, on it running
   * that attempt uncancelled): with its history entry while the substate changes and the history
   * has room, else — or when `entry` is false — without. `passing`: a substate entered and left
   * on the way, whose entry goes in first, at the same time (CheckBlobs, when the copies start
   * right after it). Undefined when the job does not run; `item` is the job as written when
   * `answer` asks for it.
   */
  async #writeSubstate(
    id: string,
    substate: string,
    options: {
      attempt: number;
      progress?: Progress;
      entry?: boolean;
      passing?: string | undefined;
      thisAttempt?: boolean;
      answer?: boolean;
    },
  ): Promise<{ item?: JobItem } | undefined> {
    const at = this.iso();
    const adds = ['version :one'];
    const values: Record<string, unknown> = {
      ':one': 1,
      ':running': 'RUNNING',
      ':substate': substate,
      ':at': at,
    };
    for (const [name, path] of [
      ['copied', 'blobs.copied'],
      ['mounted', 'blobs.mounted'],
      ['present', 'blobs.present'],
      ['bytes', 'bytesCopied'],
    ] as const) {
      if (options.progress?.[name]) {
        adds.push(`${path} :${name}`);
        values[`:${name}`] = options.progress[name];
      }
    }
    let runs = '#status = :running';
    if (options.thisAttempt) {
      runs +=
        ' AND attempt = :attempt AND (attribute_not_exists(cancelRequested) OR cancelRequested = :false)';
      values[':attempt'] = options.attempt;
      values[':false'] = false;
    }
    const entries = [...(options.passing ? [options.passing] : []), substate].map((name) => ({
      at,
      status: 'RUNNING',
      substate: name,
      attempt: options.attempt,
    }));
    const entry = {
      UpdateExpression: `SET substate = :substate, updatedAt = :at, history = list_append(history, :entry) ADD ${adds.join(', ')}`,
      ConditionExpression: `${runs} AND (attribute_not_exists(substate) OR substate <> :substate) AND size(history) < :cap`,
      ExpressionAttributeValues: {
        ...values,
        ':cap': HISTORY_LIMIT - entries.length + 1,
        ':entry': entries,
      },
    };
    const noEntry = {
      UpdateExpression: `SET substate = :substate, updatedAt = :at ADD ${adds.join(', ')}`,
      ConditionExpression: runs,
      ExpressionAttributeValues: values,
    };
    for (const update of options.entry === false ? [noEntry] : [entry, noEntry]) {
      try {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: jobKey(id),
            ExpressionAttributeNames: { '#status': 'status' },
            // A sole writer keeps the job as written.
            ...(options.answer || this.#kept ? { ReturnValues: 'ALL_NEW' as const } : {}),
            ...update,
          }),
        );
        if (Attributes) this.#keep(structuredClone(Attributes as JobItem));
        return Attributes ? { item: Attributes as JobItem } : {};
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        // Same substate as before or a full history: the rest without an entry. Not running: nothing.
      }
    }
    return undefined;
  }

  /**
   * Keeps what an invocation left of a CopyBlobs lane for the next one (KeptLane), under its
   * lane index. The lanes of one job write side by side: each sets its own entry of the
   * `lanes` map, and the first one of a job makes the map.
   */
  async keepLane(id: string, index: number, lane: KeptLane): Promise<void> {
    const update = (expression: string, condition: string, value: unknown) =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(id),
          UpdateExpression: `${expression} ADD version :one`,
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ExpressionAttributeValues: { ':lane': value, ':one': 1 },
          ...(expression.includes('#lane') ? { ExpressionAttributeNames: { '#lane': String(index) } } : {}),
          ...(this.#kept ? { ReturnValues: 'ALL_NEW' as const } : {}),
        }),
      );
    // Set the entry in the map; else make the map; else another lane made it meanwhile: set the entry.
    const attempts = [
      () => update('SET lanes.#lane = :lane', 'attribute_exists(lanes)', lane),
      () => update('SET lanes = :lane', 'attribute_not_exists(lanes)', { [String(index)]: lane }),
      () => update('SET lanes.#lane = :lane', 'attribute_exists(lanes)', lane),
    ];
    for (const attempt of attempts) {
      try {
        const { Attributes } = await attempt();
        if (Attributes) this.#keep(Attributes as JobItem);
        return;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    }
    if (!(await this.get(id))) throw new JobNotFoundError(`job ${id} is not in the records`);
    throw new StoreError(`job ${id}: lane ${index} could not be kept (its record changed under three tries)`);
  }

  /**
   * Writes the final status, once (transitions.ts `end`): answers false, changing nothing, when
   * the job had already ended or is not in `options.from`. Only the job lifecycle calls this: its
   * `end` also frees the slot and hands the tag on.
   */
  async recordEnd(id: string, status: TerminalStatus, options: EndOptions = {}): Promise<boolean> {
    return (await this.endRecord(id, status, options)).ended;
  }

  /** As `recordEnd`, answering the job as it is after the write (or as it was, when nothing changed). */
  async endRecord(
    id: string,
    status: TerminalStatus,
    options: EndOptions = {},
  ): Promise<{ job: Job; ended: boolean }> {
    if (!isTerminal(status)) throw new StoreError(`${status} is not a final status`);
    const { job, changed } = await this.#transition(id, (job, at) => end(job, status, options, at));
    return { job, ended: changed };
  }

  /** Sets the cancel flag of an unfinished job (transitions.ts); answers the job as it is now. */
  async requestCancel(id: string): Promise<Job> {
    const { job } = await this.#transition(id, (job) => requestCancel(job));
    return job;
  }

  async isCancelRequested(id: string): Promise<boolean> {
    const job = await this.get(id);
    if (!job) throw new JobNotFoundError(`job ${id} is not in the records`);
    return job.cancelRequested;
  }

  /** A FAILED or CANCELLED job QUEUED again as a new attempt (transitions.ts `retry`). */
  async retry(id: string): Promise<Job> {
    const { job } = await this.#transition(id, (job) => retry(job));
    return job;
  }

  /** Notes something done to the job in its history (transitions.ts `remark`). */
  async remark(id: string, note: string): Promise<void> {
    await this.#transition(id, (job) => remark(job, note));
  }

  /** Why a QUEUED job is not moving (transitions.ts `setWait`); the same reason again writes nothing. */
  async setWait(id: string, wait: JobWait | undefined): Promise<void> {
    await this.#transition(id, (job) => setWait(job, wait));
  }

  /** A policy's jobs, newest first; with `status`, only those. */
  async listByPolicy(
    policy: string,
    options: ListOptions & { status?: JobStatus | undefined } = {},
  ): Promise<JobPage> {
    const { status } = options;
    return this.#list(
      'byPolicy',
      policyIndexKey(policy),
      options,
      (item) => status === undefined || item.status === status,
    );
  }

  async listByStatus(status: JobStatus, options: ListOptions = {}): Promise<JobPage> {
    return this.#list('byStatus', statusIndexKey(status), options, (item) => item.status === status);
  }

  /** Every QUEUED and RUNNING job, newest first: what a restart drives on. */
  async listUnfinished(): Promise<Job[]> {
    const jobs: Job[] = [];
    for (const status of UNFINISHED_STATUSES) {
      let cursor: string | undefined;
      do {
        const page = await this.listByStatus(status, { limit: 100, cursor });
        jobs.push(...page.jobs);
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
    return jobs.sort((a, b) => (b.createdAt + b.id).localeCompare(a.createdAt + a.id));
  }

  async #list(
    index: JobIndex,
    partition: string,
    options: ListOptions,
    matches: (item: Record<string, unknown>) => boolean,
  ): Promise<JobPage> {
    const page: Page<Record<string, unknown>> = await listIndex(this.client, {
      tableName: this.tableName,
      indexName: this.#indexes[index],
      keys: JOB_INDEX_KEYS[index],
      partition,
      limit: options.limit ?? 50,
      cursor: options.cursor,
      matches,
    });
    const jobs = page.items.map(fromItem);
    return page.cursor === undefined ? { jobs } : { jobs, cursor: page.cursor };
  }
}
