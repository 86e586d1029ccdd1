import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * What every store of the one table holds (functions/lib/stores/client.ts): the client, the
 * table's name and a clock, which tests move by hand.
 */
export abstract class TableStore {
  protected readonly client: DynamoDBDocumentClient;
  protected readonly tableName: string;
  protected readonly now: () => number;

  constructor(client: DynamoDBDocumentClient, tableName: string, options: { now?: () => number } = {}) {
    this.client = client;
    this.tableName = tableName;
    this.now = options.now ?? Date.now;
  }

  /** The clock as ISO 8601, as records keep times. */
  protected iso(): string {
    return new Date(this.now()).toISOString();
  }
}
