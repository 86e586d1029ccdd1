import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { MAX_RECEIVE_COUNT } from '../../functions/lib/config/defaults.ts';
import { type QueueActions, sendDirectly } from './direct-queues.ts';
import { inMemoryHandler } from './in-memory-handler.ts';

/**
 * The jobs queue and its dead-letter queue on this machine: fauxqs's SQS, kept in SQLite under
 * `dataDir` (WAL, write-through: a kill -9 loses no acknowledged send), reached by an SQS client
 * whose request handler hands every request to fauxqs's Fastify app in memory. No socket is
 * opened, so nothing on the network can read or send jobs (`startFauxqs` would listen on
 * 0.0.0.0). fauxqs exports neither its stores nor its persistence, so they are loaded by file
 * path and wired as `startFauxqs` wires them; the self-test at start proves that a message sent
 * through the client lands in the SQLite file, so an upgrade that moves them fails loudly
 * instead of running without durability.
 */

export const JOBS_QUEUE = 'crossdock-jobs';
/** Jobs admitted to a freed slot: the dispatcher's second source (docs/architecture.md, "Admission"). */
export const ADMITTED_QUEUE = 'crossdock-admitted';
export const DEAD_LETTER_QUEUE = 'crossdock-jobs-dlq';
const PROBE_QUEUE = 'crossdock-selftest';
const DB_FILE = 'fauxqs.db';

export interface LocalQueuesOptions {
  dataDir: string;
  /** Seconds before a received, undeleted message comes back (≥ 1). */
  visibilityTimeoutSeconds: number;
  /** Receives before a message moves to the dead-letter queue; default 5. */
  maxReceiveCount?: number;
  region?: string;
}

export interface LocalQueues {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  admittedQueueUrl: string;
  admittedQueueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  close(): Promise<void>;
}

/** The parts of fauxqs's unexported modules used here (fauxqs 2.4). */
export interface FauxqsInternals {
  PersistenceManager: new (
    dataDir: string,
  ) => { db: { exec(sql: string): void }; loadSqsAndSns(sqs: unknown, sns: unknown): void; close(): void };
  SqsStore: new () => { persistence?: unknown; allQueues(): Iterable<{ persistence?: unknown }> };
  SnsStore: new () => { persistence?: unknown };
  S3Store: new () => unknown;
  /** What fauxqs's actions throw for a request they refuse (before changing anything). */
  SqsError: new (
    ...args: never[]
  ) => Error;
  /** The actions its router calls for a job's path (direct-queues.ts). */
  actions: QueueActions;
}

export async function loadFauxqsInternals(): Promise<FauxqsInternals> {
  const dist = new URL('.', import.meta.resolve('fauxqs'));
  const load = (file: string) => import(new URL(file, dist).href);
  const [persistence, sqs, sns, s3, errors, send, sendBatch, receive, remove, removeBatch] =
    await Promise.all([
      load('persistence.js'),
      load('sqs/sqsStore.js'),
      load('sns/snsStore.js'),
      load('s3/s3Store.js'),
      load('common/errors.js'),
      load('sqs/actions/sendMessage.js'),
      load('sqs/actions/sendMessageBatch.js'),
      load('sqs/actions/receiveMessage.js'),
      load('sqs/actions/deleteMessage.js'),
      load('sqs/actions/deleteMessageBatch.js'),
    ]);
  const actions: QueueActions = {
    SendMessage: send.sendMessage,
    SendMessageBatch: sendBatch.sendMessageBatch,
    ReceiveMessage: receive.receiveMessage,
    DeleteMessage: remove.deleteMessage,
    DeleteMessageBatch: removeBatch.deleteMessageBatch,
  };
  const internals = {
    PersistenceManager: persistence.PersistenceManager,
    SqsStore: sqs.SqsStore,
    SnsStore: sns.SnsStore,
    S3Store: s3.S3Store,
    SqsError: errors.SqsError,
  };
  for (const [name, value] of Object.entries({ ...internals, ...actions })) {
    if (typeof value !== 'function') throw new Error(`fauxqs no longer has ${name} where crossdock loads it`);
  }
  return { ...internals, actions };
}

export async function startLocalQueues(options: LocalQueuesOptions): Promise<LocalQueues> {
  if (!(options.visibilityTimeoutSeconds >= 1)) {
    // fauxqs with a dataDir loses a message made visible with timeout 0 (docs/architecture.md, "Local runtime").
    throw new Error('visibilityTimeoutSeconds must be at least 1');
  }
  const region = options.region ?? 'us-east-1';
  const { PersistenceManager, SqsStore, SnsStore, S3Store, SqsError, actions } = await loadFauxqsInternals();

  // As startFauxqs: load the stored state first, then attach persistence (write-through).
  const persistence = new PersistenceManager(options.dataDir);
  // Kill-safe without a disk sync per message operation (docs/architecture.md, "Local runtime").
  persistence.db.exec('PRAGMA synchronous = NORMAL');
  const sqsStore = new SqsStore();
  const snsStore = new SnsStore();
  persistence.loadSqsAndSns(sqsStore, snsStore);
  sqsStore.persistence = persistence;
  snsStore.persistence = persistence;
  for (const queue of sqsStore.allQueues()) queue.persistence = persistence;

  const app = buildApp({
    logger: false,
    defaultRegion: region,
    // S3 stays in memory and unused; buildApp wants all three stores.
    stores: { sqsStore, snsStore, s3Store: new S3Store() } as never,
  });
  await app.ready();
  // The commands of a job's path call fauxqs's actions directly (direct-queues.ts); the rest,
  // and a refusal's exception, go through the SDK to the app in memory.
  const client = sendDirectly(
    new SQSClient({
      region,
      // Never resolved or connected: the request handler answers in memory.
      endpoint: `http://sqs.${region}.localhost`,
      useQueueUrlAsEndpoint: false,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: inMemoryHandler(app),
    }),
    sqsStore,
    actions,
    (error) => error instanceof SqsError,
  );
  const close = async () => {
    client.destroy();
    await app.close(); // ends pending long polls
    persistence.close();
  };

  try {
    const deadLetter = await ensureQueue(client, DEAD_LETTER_QUEUE, {
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
    const redriven = {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: deadLetter.arn,
        maxReceiveCount: options.maxReceiveCount ?? MAX_RECEIVE_COUNT,
      }),
    };
    const jobs = await ensureQueue(client, JOBS_QUEUE, redriven);
    const admitted = await ensureQueue(client, ADMITTED_QUEUE, redriven);
    await selfTest(client, join(options.dataDir, DB_FILE));
    return {
      client,
      queueUrl: jobs.url,
      queueArn: jobs.arn,
      admittedQueueUrl: admitted.url,
      admittedQueueArn: admitted.arn,
      deadLetterQueueUrl: deadLetter.url,
      deadLetterQueueArn: deadLetter.arn,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** Creates the queue or finds it, then sets the attributes wanted now (they may have changed). */
async function ensureQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: name }));
  if (!url) throw new Error(`fauxqs answered CreateQueue ${name} without a queue URL`);
  await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`fauxqs gave queue ${name} no ARN`);
  return { url, arn };
}

/** A probe message must reach the SQLite file, be received and be deleted. */
async function selfTest(client: SQSClient, dbPath: string): Promise<void> {
  const { url } = await ensureQueue(client, PROBE_QUEUE, {});
  const { MessageId } = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'probe' }));
  const db = new DatabaseSync(dbPath, { readOnly: true });
  let stored: unknown;
  try {
    stored = db.prepare('SELECT message_id FROM sqs_messages WHERE message_id = ?').get(MessageId ?? '');
  } finally {
    db.close();
  }
  const { Messages } = await client.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }),
  );
  const probe = Messages?.find((message) => message.MessageId === MessageId);
  if (probe?.ReceiptHandle) {
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: probe.ReceiptHandle }));
  }
  await client.send(new DeleteQueueCommand({ QueueUrl: url }));
  if (!stored || !probe) {
    throw new Error(
      `fauxqs self-test failed (${stored ? 'message not received' : `message not persisted in ${dbPath}`}): ` +
        'check the installed fauxqs version against infra/local/queues.ts',
    );
  }
}
