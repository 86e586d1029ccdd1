import { setTimeout as sleep } from 'node:timers/promises';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './errors.ts';
import { TableStore } from './table-store.ts';

/**
 * A registry's request budget (`rateLimit.requestsPerSecond`) shared by every process that
 * calls the registry — deployed, each Lambda invocation has its own memory, so a limiter per
 * process would multiply the budget by the number of invocations. One counter item per
 * registry and window (`budget#<registry>`, the window's start), incremented only while under
 * the limit (a conditional update); a request that finds the window full waits for the next.
 * One write per request, and only for registries that set a limit. Items expire by TTL.
 */
export class SharedRequestBudget extends TableStore {
  readonly #registry: string;
  readonly #windowMs: number;
  readonly #limit: number;

  constructor(
    client: ConstructorParameters<typeof TableStore>[0],
    tableName: string,
    registry: string,
    requestsPerSecond: number,
    options: { now?: () => number } = {},
  ) {
    super(client, tableName, options);
    this.#registry = registry;
    // Below one request per second the window grows so that it still allows a whole request.
    const windowSeconds = Math.max(1, Math.ceil(1 / requestsPerSecond));
    this.#windowMs = windowSeconds * 1000;
    this.#limit = Math.max(1, Math.floor(requestsPerSecond * windowSeconds));
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.now();
      const window = now - (now % this.#windowMs);
      if (await this.#count(window)) return;
      // Full: the next window, with a little jitter so that waiters do not all write at once.
      await sleep(window + this.#windowMs - now + Math.random() * 20, undefined, signal ? { signal } : {});
    }
  }

  async #count(window: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `budget#${this.#registry}`, sk: String(window) },
          UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'requests' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':limit': this.#limit,
            ':expires': Math.floor((window + this.#windowMs) / 1000) + 60,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
