import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient, ensureTable } from '../../../functions/lib/stores/client.ts';

/**
 * A real dynalite in this process (in memory, on a free 127.0.0.1 port) with the stores' table:
 * one per test file. Table states are instant (docs/architecture.md, "Local runtime": a kill in CREATING leaves it stuck).
 */
export interface LocalTable {
  client: DynamoDBDocumentClient;
  tableName: string;
  close(): Promise<void>;
}

let tables = 0;

export async function startLocalTable(): Promise<LocalTable> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = createDocumentClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' });
  const tableName = `crossdock-test-${++tables}`;
  await ensureTable(client, tableName);
  return {
    client,
    tableName,
    async close() {
      client.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

/**
 * `client`, calling `afterSend` with each command's name once its answer is in (before the
 * caller gets it).
 */
export function observedClient(
  client: DynamoDBDocumentClient,
  afterSend: (command: string) => void | Promise<void>,
): DynamoDBDocumentClient {
  return new Proxy(client, {
    get: (target, property) =>
      property === 'send'
        ? async (command: { constructor: { name: string } }) => {
            const answer = await target.send(command as never);
            await afterSend(command.constructor.name);
            return answer;
          }
        : Reflect.get(target, property),
  });
}

/** `client`, counting the commands it sends by name (`GetCommand`, `QueryCommand`, …). */
export function countingClient(client: DynamoDBDocumentClient): {
  client: DynamoDBDocumentClient;
  sent: (command: string) => number;
} {
  const counts = new Map<string, number>();
  const counting = observedClient(client, (name) => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  return { client: counting, sent: (command) => counts.get(command) ?? 0 };
}
