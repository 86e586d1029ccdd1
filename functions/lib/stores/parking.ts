import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Job } from '../jobs/job.ts';
import { isConditionFailed } from './errors.ts';
import { KeptReads } from './kept-reads.ts';
import { TableStore } from './table-store.ts';

/**
 * Jobs that wait for a running slot, parked in the records per destination registry, in the
 * order they are admitted (docs/architecture.md, "Admission"): events before scans (a fresh
 * push is not held back by a policy's backfill), then by when the job was made. One item per
 * parked job: `pk = park#<destination>`, `sk = <priority>#<createdAt>#<id>`, so the oldest is
 * one query away and parking, waking and unparking are single writes.
 *
 * A store that is its records' only writer (`soleWriter`: the local runtime, whose process
 * runs every dispatch and admission) keeps each destination's line as it read it once and as
 * its own writes changed it since, and answers `oldest` and `has` from it: admission looks at
 * the lines each time a slot may have freed, a query each otherwise (docs/performance.md,
 * "The local runtime's own cost"). Every change is still written to the table first.
 */

export interface ParkedJob {
  jobId: string;
  attempt: number;
  destination: string;
  /** Its place in the destination's line: compare these to know who came first. */
  order: string;
  /** Its policy (absent in lines an older crossdock wrote): the woken job's message carries it. */
  policy?: string | undefined;
}

const partition = (destination: string) => `park#${destination}`;

/** Where a job waits in its destination's line. */
export function parkingOrder(job: Pick<Job, 'id' | 'createdAt' | 'origin'>): string {
  return `${job.origin === 'scan' ? 1 : 0}#${job.createdAt}#${job.id}`;
}

export class ParkingStore extends TableStore {
  /** With `soleWriter`: each destination's line, in order, as read once and changed since. */
  readonly #lines: KeptReads<string, ParkedJob[]> | undefined;

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: { now?: () => number; soleWriter?: boolean } = {},
  ) {
    super(client, tableName, options);
    // A line is read whole, once.
    this.#lines = options.soleWriter
      ? new KeptReads((destination) => this.#query(destination, undefined))
      : undefined;
  }

  /** Changes the kept line, if there is one, after a write to the table succeeded. */
  async #changeLine(destination: string, order: string, parked: ParkedJob | undefined): Promise<void> {
    const line = await this.#lines?.ifLoaded(destination);
    if (!line) return;
    const at = line.findIndex((entry) => entry.order >= order);
    const place = at === -1 ? line.length : at;
    const replaces = line[place]?.order === order ? 1 : 0;
    if (parked) line.splice(place, replaces, parked);
    else line.splice(place, replaces);
  }

  /** Parks the job (again: the same place in line). */
  async park(
    job: Pick<Job, 'id' | 'attempt' | 'createdAt' | 'origin' | 'destinationRegistry' | 'policy'>,
  ): Promise<void> {
    await this.restore({
      jobId: job.id,
      attempt: job.attempt,
      destination: job.destinationRegistry,
      order: parkingOrder(job),
      policy: job.policy,
    });
  }

  /** Puts a job taken out of line back at its place. */
  async restore(parked: ParkedJob): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: partition(parked.destination),
          sk: parked.order,
          jobId: parked.jobId,
          attempt: parked.attempt,
          ...(parked.policy === undefined ? {} : { policy: parked.policy }),
          parkedAt: this.iso(),
        },
      }),
    );
    await this.#changeLine(parked.destination, parked.order, { ...parked });
  }

  /** Takes the job out of the line; true for the one caller that did (a waker that may send it). */
  async remove(parked: Pick<ParkedJob, 'destination' | 'order'>): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: partition(parked.destination), sk: parked.order },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      await this.#changeLine(parked.destination, parked.order, undefined);
      return true;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      await this.#changeLine(parked.destination, parked.order, undefined);
      return false;
    }
  }

  /** The first `limit` jobs in the destination's line. */
  async oldest(destination: string, limit: number): Promise<ParkedJob[]> {
    if (limit < 1) return [];
    const line = this.#lines?.get(destination);
    if (line) return (await line).slice(0, limit).map((parked) => ({ ...parked }));
    return this.#query(destination, limit);
  }

  /** The line's first `limit` jobs (all of them: undefined). */
  async #query(destination: string, limit: number | undefined): Promise<ParkedJob[]> {
    return (await this.queryPartition(partition(destination), limit)).map((item) => ({
      jobId: item.jobId as string,
      attempt: item.attempt as number,
      destination,
      order: item.sk as string,
      ...(typeof item.policy === 'string' ? { policy: item.policy } : {}),
    }));
  }

  async has(job: Pick<Job, 'id' | 'createdAt' | 'origin' | 'destinationRegistry'>): Promise<boolean> {
    const line = this.#lines?.get(job.destinationRegistry);
    if (line) {
      const order = parkingOrder(job);
      return (await line).some((parked) => parked.order === order);
    }
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: partition(job.destinationRegistry), sk: parkingOrder(job) },
        ConsistentRead: true,
      }),
    );
    return Item !== undefined;
  }
}
