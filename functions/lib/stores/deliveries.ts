import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './errors.ts';

/**
 * Webhook deliveries seen recently (DESIGN.md: "dedupe deliveries, not work"). One item per
 * delivery key, expiring after its window. An expired item counts as absent even before TTL
 * (or the local sweeper) removes it: DynamoDB deletes expired items only eventually.
 */
export class DeliveryStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #now: () => number;

  constructor(client: DynamoDBDocumentClient, tableName: string, options: { now?: () => number } = {}) {
    this.#client = client;
    this.#tableName = tableName;
    this.#now = options.now ?? Date.now;
  }

  /** True the first time `key` is seen within `ttlSeconds`; false for a repeat inside the window. */
  async remember(key: string, ttlSeconds: number): Promise<boolean> {
    const now = Math.floor(this.#now() / 1000);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { pk: `delivery#${key}`, sk: 'delivery', seenAt: now, expiresAt: now + ttlSeconds },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
