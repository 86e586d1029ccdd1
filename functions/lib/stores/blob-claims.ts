import { type DynamoDBDocumentClient, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_BLOB_CLAIM_TTL_SECONDS } from '#config/defaults.ts';
import { blobKey, HELD_FOR_SECONDS } from './blob-keys.ts';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * How long an item made or emptied by a claim stays, past the claim's own time to live, before
 * DynamoDB's TTL may delete it. Renewals do not move it (they leave the index's part alone), so a
 * claim renewed for over a day on a blob nobody else holds could lose its item: another job may
 * then copy the blob too, bytes twice.
 */
const CLAIM_ITEM_KEPT_SECONDS = 86_400;

/**
 * No repository is known to hold the blob: none named, or their entry expired. Items keep
 * `repositories` a list and `version` a number, as the code before the claim moved here wrote
 * them, so that code reads them still (during a deploy or after a rollback: docs/deploy.md).
 */
const HELD_BY_NONE = '(attribute_not_exists(repositories) OR size(repositories) = :zero OR expiresAt < :now)';

/**
 * Claims to copy a blob into a destination registry (the BlobClaims port of
 * functions/lib/replication/blob-index.ts): of the jobs needing the same blob at once, the one
 * whose conditional write wins copies it; the others wait and mount it. A claim lasts
 * `ttlSeconds` unless its holder renews it (the copy does, every third of it), so a holder that
 * died delays the others at most that long; then one of them takes the claim and copies.
 *
 * The claim is two attributes of the blob's index item (blob-keys.ts, BlobIndexStore), so the
 * write that takes it also checks that no repository holds the blob, and the write that gives
 * it up names the repository the copy landed in: a copied blob costs the index read before it
 * and these two writes (docs/performance.md, "What one replicated tag costs").
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

  /** Not rounded down (unlike epochSeconds): a claim is over once the clock has passed its end, to the millisecond. */
  #seconds(): number {
    return this.now() / 1000;
  }

  /**
   * Takes the claim (or keeps its own) while no other holder's is live and no repository is
   * known to hold the blob. Repositories whose entry expired are dropped by the same write.
   */
  async claim(registry: string, digest: string, holder: string): Promise<boolean> {
    const now = this.#seconds();
    return this.#updateIf(registry, digest, {
      UpdateExpression:
        'SET claimHolder = :holder, claimExpiresAt = :ends, expiresAt = :kept, repositories = :none, ' +
        'version = if_not_exists(version, :zero)',
      ConditionExpression: `(attribute_not_exists(claimHolder) OR claimExpiresAt < :now OR claimHolder = :holder) AND ${HELD_BY_NONE}`,
      ExpressionAttributeValues: {
        ':holder': holder,
        ':ends': Math.ceil(now + this.ttlSeconds),
        ':kept': Math.ceil(now + this.ttlSeconds + CLAIM_ITEM_KEPT_SECONDS),
        ':none': [],
        ':zero': 0,
        ':now': Math.floor(now),
      },
    });
  }

  /**
   * Extends `holder`'s own claim, whatever the index says meanwhile: a repository another job
   * names while this one copies refuses new claims, not the copy under way.
   */
  async renew(registry: string, digest: string, holder: string): Promise<boolean> {
    return this.#updateIf(registry, digest, {
      UpdateExpression: 'SET claimExpiresAt = :ends',
      ConditionExpression: 'claimHolder = :holder',
      ExpressionAttributeValues: { ':holder': holder, ':ends': Math.ceil(this.#seconds() + this.ttlSeconds) },
    });
  }

  async release(registry: string, digest: string, holder: string): Promise<void> {
    // Refused when it expired and another job took it meanwhile, or was never taken: not ours.
    await this.#updateIf(registry, digest, {
      UpdateExpression: 'REMOVE claimHolder, claimExpiresAt',
      ConditionExpression: 'claimHolder = :holder',
      ExpressionAttributeValues: { ':holder': holder },
    });
  }

  /**
   * Gives the claim up and names `repository` as the blob's one holder, in one write — while
   * the claim is still `holder`'s and no repository was named since it was taken (else false:
   * the index's own conditional write merges the repository with the others).
   */
  async releaseHolding(
    registry: string,
    digest: string,
    holder: string,
    repository: string,
  ): Promise<boolean> {
    const now = this.#seconds();
    return this.#updateIf(registry, digest, {
      UpdateExpression:
        'SET repositories = :repositories, version = if_not_exists(version, :zero) + :one, expiresAt = :held ' +
        'REMOVE claimHolder, claimExpiresAt',
      ConditionExpression: `claimHolder = :holder AND ${HELD_BY_NONE}`,
      ExpressionAttributeValues: {
        ':holder': holder,
        ':repositories': [repository],
        ':zero': 0,
        ':one': 1,
        ':held': Math.floor(now) + HELD_FOR_SECONDS,
        ':now': Math.floor(now),
      },
    });
  }

  /** Updates the blob's item if the condition holds; false when it did not (nothing written). */
  async #updateIf(
    registry: string,
    digest: string,
    update: Pick<
      UpdateCommandInput,
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'
    >,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({ TableName: this.tableName, Key: blobKey(registry, digest), ...update }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return false;
    }
  }
}
