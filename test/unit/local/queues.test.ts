import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type LocalQueues, startLocalQueues } from '../../../infra/local/queues.ts';
import { killHard, startChild } from './child-process.ts';
import { tempDir } from './temp-dir.ts';

async function open(dataDir: string, maxReceiveCount = 5): Promise<LocalQueues> {
  return startLocalQueues({ dataDir, visibilityTimeoutSeconds: 1, maxReceiveCount });
}

async function send(client: SQSClient, queueUrl: string, body: string): Promise<string> {
  const { MessageId } = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  return MessageId ?? '';
}

/** Receives until `count` messages came or `waitSeconds` of long polls found nothing more. */
async function receiveAll(
  client: SQSClient,
  queueUrl: string,
  count: number,
  waitSeconds = 2,
): Promise<Message[]> {
  const received: Message[] = [];
  while (received.length < count) {
    const { Messages } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    if (!Messages?.length) break;
    received.push(...Messages);
  }
  return received;
}

/** The TCP ports this process listens on (Linux /proc: its socket inodes in LISTEN state). */
async function listeningPorts(): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (state === '0A' && inode && inodes.has(inode) && local) {
        ports.push(Number.parseInt(local.split(':')[1] ?? '', 16));
      }
    }
  }
  return ports.sort();
}

describe('local queues (fauxqs in memory, SQLite on disk)', () => {
  it('creates the jobs queue and its dead-letter queue with a redrive policy', async () => {
    const queues = await open(await tempDir(), 3);
    try {
      expect(queues.queueUrl).toBe('http://sqs.us-east-1.localhost/000000000000/crossdock-jobs');
      expect(queues.deadLetterQueueUrl).toBe(
        'http://sqs.us-east-1.localhost/000000000000/crossdock-jobs-dlq',
      );
      const { Attributes } = await queues.client.send(
        new GetQueueAttributesCommand({ QueueUrl: queues.queueUrl, AttributeNames: ['All'] }),
      );
      expect(Attributes?.VisibilityTimeout).toBe('1');
      expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: queues.deadLetterQueueArn,
        maxReceiveCount: 3,
      });
      expect(queues.deadLetterQueueArn).toBe('arn:aws:sqs:us-east-1:000000000000:crossdock-jobs-dlq');
    } finally {
      await queues.close();
    }
  });

  it('keeps sent and in-flight messages, and forgets deleted ones, across close and reopen', async () => {
    const dataDir = await tempDir();
    const first = await open(dataDir);
    await send(first.client, first.queueUrl, 'deleted');
    await send(first.client, first.queueUrl, 'in flight');
    const received = await receiveAll(first.client, first.queueUrl, 2);
    await send(first.client, first.queueUrl, 'waiting');
    for (const message of received) {
      if (message.Body === 'deleted') {
        await first.client.send(
          new DeleteMessageCommand({ QueueUrl: first.queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
      }
    }
    await first.close();

    const second = await open(dataDir);
    try {
      const again = await receiveAll(second.client, second.queueUrl, 2);
      const receiveCounts = Object.fromEntries(
        again.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount]),
      );
      expect(receiveCounts).toEqual({ 'in flight': '2', waiting: '1' });
    } finally {
      await second.close();
    }
  });

  it('loses no acknowledged message when its process is killed with SIGKILL', async () => {
    const dataDir = await tempDir();
    const queuesModule = new URL('../../../infra/local/queues.ts', import.meta.url).href;
    const child = await startChild(
      `
      import { SendMessageCommand } from '@aws-sdk/client-sqs';
      const { startLocalQueues } = await import(${JSON.stringify(queuesModule)});
      const queues = await startLocalQueues({ dataDir: ${JSON.stringify(dataDir)}, visibilityTimeoutSeconds: 1 });
      for (let i = 0; i < 20; i++) {
        await queues.client.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: 'job ' + i }));
      }
      console.log('sent');
      setInterval(() => {}, 1000);
      `,
      'sent',
    );
    await killHard(child);

    const queues = await open(dataDir);
    try {
      const received = await receiveAll(queues.client, queues.queueUrl, 20, 1);
      expect(received.map((message) => message.Body).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `job ${i}`).sort(),
      );
    } finally {
      await queues.close();
    }
  });

  it('moves a message to the dead-letter queue once it was received maxReceiveCount times', async () => {
    const queues = await open(await tempDir(), 2);
    try {
      const id = await send(queues.client, queues.queueUrl, 'poison');
      for (let receive = 1; receive <= 2; receive++) {
        const [message] = await receiveAll(queues.client, queues.queueUrl, 1);
        expect(message?.MessageId).toBe(id);
        expect(message?.Attributes?.ApproximateReceiveCount).toBe(String(receive));
      }

      const third = await receiveAll(queues.client, queues.queueUrl, 1);
      const [dead] = await receiveAll(queues.client, queues.deadLetterQueueUrl, 1, 1);

      expect(third).toEqual([]);
      expect(dead?.MessageId).toBe(id);
      expect(dead?.Body).toBe('poison');
    } finally {
      await queues.close();
    }
  });

  it('opens no listening socket: the client reaches fauxqs in memory', async () => {
    // The check itself sees a listening socket when there is one.
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => probe.once('listening', resolve));
    const probePort = (probe.address() as { port: number }).port;
    expect(await listeningPorts()).toContain(probePort);
    await new Promise((resolve) => probe.close(resolve));
    const before = await listeningPorts();

    const queues = await open(await tempDir());
    try {
      await send(queues.client, queues.queueUrl, 'hello');
      const [message] = await receiveAll(queues.client, queues.queueUrl, 1);

      expect(message?.Body).toBe('hello');
      expect(await listeningPorts()).toEqual(before);
    } finally {
      await queues.close();
    }
  });

  it('refuses a visibility timeout below 1 s (fauxqs loses messages made visible with 0)', async () => {
    await expect(startLocalQueues({ dataDir: await tempDir(), visibilityTimeoutSeconds: 0 })).rejects.toThrow(
      /at least 1/,
    );
  });
});
