import { DeleteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './errors.ts';

/**
 * DynamoDB's TTL for dynalite, which has none: deletes every item whose `expiresAt` (epoch
 * seconds) has passed — leases, and final jobs `records.keepDays` after they finished (with
 * the item go its index entries and its history, which it holds). Each delete is conditional
 * on the item still being expired, so a lease renewed or a job retried meanwhile survives, and
 * never deletes a QUEUED or RUNNING job: only final jobs carry `expiresAt`, and should one
 * ever be unfinished with it, an unfinished job is worth more than a tidy table. It scans the
 * table: meant for the local runtime, never needed when deployed (TTL on `expiresAt` does it
 * there). Answers how many it deleted.
 */
export async function sweepExpired(
  client: DynamoDBDocumentClient,
  tableName: string,
  now: Date = new Date(),
): Promise<number> {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  let deleted = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'expiresAt < :now',
        ExpressionAttributeValues: { ':now': nowSeconds },
        ProjectionExpression: 'pk, sk',
        ExclusiveStartKey: startKey,
      }),
    );
    for (const key of page.Items ?? []) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { pk: key.pk, sk: key.sk },
            ConditionExpression: 'expiresAt < :now AND NOT (#status IN (:queued, :running))',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':now': nowSeconds, ':queued': 'QUEUED', ':running': 'RUNNING' },
          }),
        );
        deleted++;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return deleted;
}
