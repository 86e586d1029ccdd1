import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

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

  /** The clock in whole seconds since the epoch, as DynamoDB's TTL attributes keep times. */
  protected epochSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** The clock as ISO 8601, as records keep times. */
  protected iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** The items of one partition in sort-key order, read consistently, page after page: all, or the first `limit`. */
  protected async queryPartition(pk: string, limit?: number): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ...(limit === undefined ? {} : { Limit: limit - items.length }),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && (limit === undefined || items.length < limit));
    return items;
  }
}
