import { DeleteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './errors.ts';

/**
 * DynamoDB's TTL for dynalite, which has none: deletes every item whose `expiresAt` (epoch
 * seconds) has passed (leases). Each delete is conditional on the item still being
 * expired, so a lease renewed meanwhile survives. It scans the table: meant for the local
 * runtime, never needed when deployed (TTL on `expiresAt` does it there). Answers how many it deleted.
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
            ConditionExpression: 'expiresAt < :now',
            ExpressionAttributeValues: { ':now': nowSeconds },
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
