import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ScanRequest } from '../../../functions/lib/api/ports.ts';
import { Crossdock } from '../../../functions/lib/app/crossdock.ts';
import { useApp } from '../../../functions/lib/app/current.ts';
import type { JobMessage } from '../../../functions/lib/jobs/message.ts';
import type { ExecutionState } from '../../../functions/lib/reconcile/reconcile.ts';
import { lambdaContext as localLambdaContext } from '../../../infra/local/lambda-context.ts';
import { DISTRIBUTION_EVENTS_TYPE } from '../../support/webhook-payloads.ts';
import { type LocalTable, observedClient, startLocalTable } from '../stores/local-table.ts';

/**
 * The pipeline's handlers as Lambda calls them, on a real dynalite table. The SQS client and
 * the execution starter are recorders: what they are asked to do is what these tests check.
 */

export interface SentMessage {
  body: JobMessage & { waits?: number };
  delaySeconds?: number;
  batch: boolean;
}

export interface Pipeline {
  app: Crossdock;
  table: LocalTable;
  sent: SentMessage[];
  /** SendMessageBatch calls, by their number of entries. */
  batches: number[];
  started: { name: string; input: JobMessage }[];
  /** How executions stand, by ARN, as DescribeExecution would answer (unknown when not set). */
  executionStates: Map<string, ExecutionState>;
  scans: ScanRequest[];
  failStarts: boolean;
  close(): Promise<void>;
}

export async function startPipeline(
  limits = { runningJobs: 10, perDestination: 4, blobsPerJob: 2 },
  options: {
    /** Told the name of each command the app sends to the table (`GetCommand`, …). */
    observe?: (command: string) => void;
  } = {},
): Promise<Pipeline> {
  const table = await startLocalTable();
  const pipeline: Pipeline = {
    table,
    sent: [],
    batches: [],
    started: [],
    executionStates: new Map(),
    scans: [],
    failStarts: false,
    app: undefined as unknown as Crossdock,
    async close() {
      useApp(undefined);
      await pipeline.app.close();
      await table.close();
    },
  };
  const sqs = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      if (command.constructor.name === 'SendMessageBatchCommand') {
        const entries = command.input.Entries as { MessageBody: string }[];
        pipeline.batches.push(entries.length);
        for (const entry of entries) pipeline.sent.push({ body: JSON.parse(entry.MessageBody), batch: true });
        return { Successful: entries, Failed: [] };
      }
      if (command.constructor.name === 'SendMessageCommand') {
        pipeline.sent.push({
          body: JSON.parse(command.input.MessageBody as string),
          delaySeconds: command.input.DelaySeconds as number,
          batch: false,
        });
        return {};
      }
      throw new Error(`unexpected SQS call ${command.constructor.name}`);
    },
  } as unknown as SQSClient;
  pipeline.app = new Crossdock({
    settings: {
      tableName: table.tableName,
      jobQueueUrl: 'http://127.0.0.1:1/000000000000/crossdock-jobs',
      limits,
      copyByteBudget: 64 * 1024 * 1024,
      leaseTtlSeconds: 600,
      reconcile: { staleAfterMs: 10 * 60_000, tooLongMs: 60 * 60_000 },
      deadLetterDelaySeconds: 60,
    },
    dynamo: options.observe ? observedClient(table.client, options.observe) : table.client,
    sqs,
    // The handlers as deployed: budgets, slots and claims in the table, which invocations share.
    sharedCoordination: true,
    scans: {
      async start(request) {
        pipeline.scans.push(request);
      },
    },
    executions: {
      async start(name, input) {
        if (pipeline.failStarts)
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        // As AWS answers a name it had (ExecutionAlreadyExists: a finished execution).
        if (pipeline.started.some((started) => started.name === name)) return 'existed';
        pipeline.started.push({ name, input });
        return 'started';
      },
      describe: async (executionArn) => pipeline.executionStates.get(executionArn) ?? { status: 'UNKNOWN' },
    },
  });
  useApp(pipeline.app);
  return pipeline;
}

/** hub-a → dc-b, with the policy `to-b` (project team-a) and the disabled policy `off`. */
export async function startPipelineToB(
  limits = { runningJobs: 10, perDestination: 4, blobsPerJob: 2 },
): Promise<Pipeline> {
  const pipeline = await startPipeline(limits);
  await declare(pipeline.app, {
    registries: [
      { name: 'hub-a', url: 'http://127.0.0.1:5001' },
      { name: 'dc-b', url: 'http://127.0.0.1:5002' },
    ],
    sources: [],
    policies: [
      { name: 'to-b', source: { registry: 'hub-a', project: 'team-a' }, destination: { registry: 'dc-b' } },
      {
        name: 'off',
        source: { registry: 'hub-a', project: 'team-a' },
        destination: { registry: 'dc-b' },
        enabled: false,
      },
    ],
  });
  return pipeline;
}

/** hub-a's webhook source: its deliveries carry `Authorization: Bearer s3cret` (HUB_A_AUTH). */
export const HUB_A_SOURCE = {
  name: 'hub-a',
  registry: 'hub-a',
  format: 'distribution',
  auth: { header: 'Authorization', value: 'Bearer s3cret' },
};
export const HUB_A_AUTH = { authorization: 'Bearer s3cret' };

export async function declare(
  app: Crossdock,
  yaml: { registries: unknown[]; sources: unknown[]; policies: unknown[] },
) {
  for (const registry of yaml.registries) await app.config.putRegistry(registry);
  for (const source of yaml.sources) await app.config.putSource(source);
  for (const policy of yaml.policies) await app.config.putPolicy(policy);
}

/**
 * hub-a (its webhook source, HUB_A_SOURCE) → dc-b, by the policy `to-b` (project team-a), at
 * these registries' URLs.
 */
export function declareHubAToB(app: Crossdock, urls: { source: string; destination: string }) {
  return declare(app, {
    registries: [
      { name: 'hub-a', url: urls.source },
      { name: 'dc-b', url: urls.destination },
    ],
    sources: [HUB_A_SOURCE],
    policies: [
      { name: 'to-b', source: { registry: 'hub-a', project: 'team-a' }, destination: { registry: 'dc-b' } },
    ],
  });
}

/** The Context a Lambda call gets; the local runtime builds the same one. */
export const lambdaContext = (functionName: string): Context => localLambdaContext(functionName, 30_000);

export function webhookEvent(
  source: string,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/{source}',
    rawPath: `/webhooks/${source}`,
    rawQueryString: '',
    headers: { 'content-type': DISTRIBUTION_EVENTS_TYPE, ...headers },
    pathParameters: { source },
    requestContext: {} as APIGatewayProxyEventV2['requestContext'],
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

let messageIds = 0;

export function sqsEvent(bodies: unknown[], receiveCount = 1): SQSEvent {
  return {
    Records: bodies.map(
      (body): SQSRecord => ({
        messageId: `m-${++messageIds}`,
        receiptHandle: `r-${messageIds}`,
        body: typeof body === 'string' ? body : JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: String(Date.now()),
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:crossdock-jobs',
        awsRegion: 'us-east-1',
      }),
    ),
  };
}
