import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreError } from './errors.ts';
import {
  JOB_INDEX_KEYS,
  JOB_INDEXES,
  type JobIndex,
  type JobIndexNames,
  LEGACY_JOB_INDEXES,
} from './job-indexes.ts';

/**
 * The one table every store shares (keys `pk`/`sk`) and its two indexes of jobs (JOB_INDEXES).
 * The CDK stack (`infra/aws/job-store.ts`) declares the same shape; the local runtime and the
 * tests create it from here. Items that expire carry `expiresAt` (epoch seconds): DynamoDB's
 * TTL attribute when deployed, `sweepExpired` locally.
 */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const index = (which: JobIndex) => ({
    IndexName: JOB_INDEXES[which],
    KeySchema: [
      { AttributeName: `${JOB_INDEX_KEYS[which]}pk`, KeyType: 'HASH' as const },
      { AttributeName: `${JOB_INDEX_KEYS[which]}sk`, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'KEYS_ONLY' as const },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((name) => ({
      AttributeName: name,
      AttributeType: 'S' as const,
    })),
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [index('byPolicy'), index('byStatus')],
  };
}

export interface ClientOptions {
  /** e.g. dynalite's `http://127.0.0.1:PORT`; omitted on AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

export function createDocumentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  const { endpoint } = options;
  const client = new DynamoDBClient({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    // A local endpoint checks no signature; dummy credentials keep the SDK from looking for real ones.
    ...(endpoint !== undefined
      ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

async function tableStatus(client: DynamoDBDocumentClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/**
 * Creates the table when it is missing and waits until it is ACTIVE (local runtime, tests).
 * A table stuck in CREATING (dynalite killed in that window never finishes it) fails after
 * `timeoutMs` rather than hanging the start.
 */
export async function ensureTable(
  client: DynamoDBDocumentClient,
  tableName: string,
  timeoutMs = 10_000,
): Promise<void> {
  if ((await tableStatus(client, tableName)) === undefined) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await tableStatus(client, tableName);
    if (status === 'ACTIVE') return;
    if (Date.now() > deadline) {
      throw new StoreError(`table ${tableName} is ${status ?? 'missing'}, not ACTIVE, after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The names of the job indexes an existing table has: JOB_INDEXES, or LEGACY_JOB_INDEXES for a
 * table made before them (the local runtime's state folder keeps its table across releases).
 */
export async function jobIndexesOf(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<JobIndexNames> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const names = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  for (const candidate of [JOB_INDEXES, LEGACY_JOB_INDEXES]) {
    if (names.has(candidate.byPolicy) && names.has(candidate.byStatus)) return candidate;
  }
  throw new StoreError(
    `table ${tableName} has neither the job indexes ${JOB_INDEXES.byPolicy} and ${JOB_INDEXES.byStatus} ` +
      `nor the older ${LEGACY_JOB_INDEXES.byPolicy} and ${LEGACY_JOB_INDEXES.byStatus}`,
  );
}
