import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Job } from '../jobs/job.ts';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * Jobs that wait for a running slot, parked in the records per destination registry, in the
 * order they are admitted (docs/architecture.md, "Admission"): events before scans (a fresh
 * push is not held back by a policy's backfill), then by when the job was made. One item per
 * parked job: `pk = park#<destination>`, `sk = <priority>#<createdAt>#<id>`, so the oldest is
 * one query away and parking, waking and unparking are single writes.
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
  /** Parks the job (again: the same place in line). */
  async park(
    job: Pick<Job, 'id' | 'attempt' | 'createdAt' | 'origin' | 'destinationRegistry' | 'policy'>,
  ): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: partition(job.destinationRegistry),
          sk: parkingOrder(job),
          jobId: job.id,
          attempt: job.attempt,
          policy: job.policy,
          parkedAt: this.iso(),
        },
      }),
    );
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
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** The first `limit` jobs in the destination's line. */
  async oldest(destination: string, limit: number): Promise<ParkedJob[]> {
    if (limit < 1) return [];
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :line',
        ExpressionAttributeValues: { ':line': partition(destination) },
        ScanIndexForward: true,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => ({
      jobId: item.jobId as string,
      attempt: item.attempt as number,
      destination,
      order: item.sk as string,
      ...(typeof item.policy === 'string' ? { policy: item.policy } : {}),
    }));
  }

  async has(job: Pick<Job, 'id' | 'createdAt' | 'origin' | 'destinationRegistry'>): Promise<boolean> {
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
