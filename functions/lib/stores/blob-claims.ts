import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_BLOB_CLAIM_TTL_SECONDS } from '#config/defaults.ts';
import { blobKey } from './blob-keys.ts';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * Claims to copy a blob into a destination registry (the BlobClaims port of
 * functions/lib/replication/blob-index.ts): of the jobs needing the same blob at once, the one
 * whose conditional put wins copies it; the others wait and mount it. A claim lasts
 * `ttlSeconds` unless its holder renews it (the copy does, every third of it), so a holder that
 * died delays the others at most that long; then one of them takes the claim and copies.
 */
export class BlobClaimStore extends TableStore {
  readonly ttlSeconds: number;

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: { now?: () => number; ttlSeconds?: number } = {},
  ) {
    super(client, tableName, options);
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_BLOB_CLAIM_TTL_SECONDS;
  }

  async claim(registry: string, digest: string, holder: string): Promise<boolean> {
    const now = this.now() / 1000;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...blobKey(registry, digest, 'claim'),
            holder,
            expiresAt: Math.ceil(now + this.ttlSeconds),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': Math.floor(now), ':holder': holder },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return false;
    }
  }

  async release(registry: string, digest: string, holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: blobKey(registry, digest, 'claim'),
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      // Expired and taken by another job meanwhile: not ours to give up.
      if (!isConditionFailed(error)) throw error;
    }
  }
}
