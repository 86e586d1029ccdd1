import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * A policy's reconciliation runs (docs/architecture.md, "Drift and reconciliation runs"): one
 * state item per policy — when its last run started, and which run is going now — and one item
 * per run with what it found.
 *
 * The state item makes a due check one read per scheduled policy, and a start a conditional
 * write: a run is claimed only while no other run of the policy is going (or the one going has
 * not been heard of for `staleAfterMs`: its process died without finishing), and a scheduled
 * claim only while the last start is still the one the due check read — two schedulers, or a
 * tick and a `policies sync`, never start two runs at once.
 */

export type RunTrigger = 'schedule' | 'manual';
export type RunStatus = 'running' | 'finished' | 'failed';

export interface PolicyRunRecord<R> {
  runId: string;
  policy: string;
  trigger: RunTrigger;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string | undefined;
  durationMs?: number | undefined;
  /** What the run found and did (the drift module's figures). */
  result?: R | undefined;
  /** Why a failed run stopped. */
  error?: string | undefined;
}

export interface PolicyRunState {
  policy: string;
  lastStartedAt?: string | undefined;
  lastRunId?: string | undefined;
  /** The run going now, if any. */
  running?: string | undefined;
  runningSince?: string | undefined;
}

export type ClaimOutcome =
  | { claimed: true; startedAt: string }
  | { claimed: false; running?: string | undefined };

const STATE = 'policy-run';
const runsOf = (policy: string) => `policy-runs#${policy}`;
const runKey = (runId: string) => `run#${runId}`;

export class PolicyRunStore<R extends object> extends TableStore {
  readonly #keepSeconds: number | undefined;

  constructor(
    client: ConstructorParameters<typeof TableStore>[0],
    tableName: string,
    options: { now?: () => number; keepDays?: number | undefined } = {},
  ) {
    super(client, tableName, options);
    this.#keepSeconds = options.keepDays === undefined ? undefined : options.keepDays * 86_400;
  }

  async state(policy: string): Promise<PolicyRunState | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: STATE, sk: policy }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return {
      policy,
      lastStartedAt: Item.lastStartedAt as string | undefined,
      lastRunId: Item.lastRunId as string | undefined,
      running: Item.running as string | undefined,
      runningSince: Item.runningSince as string | undefined,
    };
  }

  /**
   * Starts run `runId` when no other run of the policy is going (one silent for `staleAfterMs`
   * counts as gone) and, when `lastStartedAt` is given (null: never ran), only while that is
   * still the policy's last start. The run's item is written as `running`.
   */
  async claim(request: {
    policy: string;
    runId: string;
    trigger: RunTrigger;
    staleAfterMs: number;
    lastStartedAt?: string | null | undefined;
  }): Promise<ClaimOutcome> {
    const startedAt = this.iso();
    const stale = new Date(this.now() - request.staleAfterMs).toISOString();
    const conditions = ['(attribute_not_exists(running) OR runningSince < :stale)'];
    const values: Record<string, unknown> = { ':id': request.runId, ':now': startedAt, ':stale': stale };
    if (request.lastStartedAt === null) conditions.push('attribute_not_exists(lastStartedAt)');
    else if (request.lastStartedAt !== undefined) {
      conditions.push('lastStartedAt = :seen');
      values[':seen'] = request.lastStartedAt;
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: STATE, sk: request.policy },
          UpdateExpression: 'SET lastStartedAt = :now, lastRunId = :id, running = :id, runningSince = :now',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return { claimed: false, running: (await this.state(request.policy))?.running };
    }
    const run: PolicyRunRecord<R> = {
      runId: request.runId,
      policy: request.policy,
      trigger: request.trigger,
      status: 'running',
      startedAt,
    };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: runsOf(request.policy), sk: runKey(request.runId), ...run },
      }),
    );
    return { claimed: true, startedAt };
  }

  /** Records the run's end and lets the next run of the policy start. */
  async finish(
    policy: string,
    runId: string,
    end: { status: 'finished' | 'failed'; result?: R | undefined; error?: string | undefined },
  ): Promise<PolicyRunRecord<R> | undefined> {
    const run = await this.get(policy, runId);
    if (!run) return undefined;
    const finishedAt = this.now();
    const finished: PolicyRunRecord<R> = {
      ...run,
      status: end.status,
      finishedAt: new Date(finishedAt).toISOString(),
      durationMs: finishedAt - Date.parse(run.startedAt),
      ...(end.result === undefined ? {} : { result: end.result }),
      ...(end.error === undefined ? {} : { error: end.error }),
    };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: runsOf(policy),
          sk: runKey(runId),
          ...stripUndefined(finished),
          ...(this.#keepSeconds === undefined
            ? {}
            : { expiresAt: Math.floor(finishedAt / 1000) + this.#keepSeconds }),
        },
      }),
    );
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: STATE, sk: policy },
          UpdateExpression: 'REMOVE running, runningSince',
          ConditionExpression: 'running = :id',
          ExpressionAttributeValues: { ':id': runId },
        }),
      );
    } catch (error) {
      // Another run took over after this one counted as stale: it is that run's now.
      if (!isConditionFailed(error)) throw error;
    }
    return finished;
  }

  async get(policy: string, runId: string): Promise<PolicyRunRecord<R> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: runsOf(policy), sk: runKey(runId) },
        ConsistentRead: true,
      }),
    );
    return Item ? toRun<R>(Item) : undefined;
  }

  /** The policy's runs, newest first (run ids sort by their start). */
  async list(policy: string, limit: number): Promise<PolicyRunRecord<R>[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': runsOf(policy) },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => toRun<R>(item));
  }
}

function toRun<R>(item: Record<string, unknown>): PolicyRunRecord<R> {
  const { pk: _pk, sk: _sk, expiresAt: _e, ...run } = item;
  return run as unknown as PolicyRunRecord<R>;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
