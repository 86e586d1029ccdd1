import * as dynamodb from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * The local runtime's records client without the SDK's request pipeline. Every record
 * operation of `serve` went through the SDK's middleware — serialising, endpoint resolution,
 * retries, SigV4 signing (hashes of every body), user agent, deserialising — to reach a
 * dynalite in the same process that checks none of it: about half of the main thread's time
 * under a burst of jobs (docs/performance.md, "The local runtime's own cost"). Here a
 * lib-dynamodb command is marshalled as lib-dynamodb does it (its own key nodes: which fields
 * hold items, keys and values) and handed to dynalite's thread as the JSON request the SDK
 * would have sent; the answer is unmarshalled the same way, and an error answer becomes the
 * SDK's own exception class (the stores test `instanceof` and `name`).
 *
 * `send` replaces the method of a real DynamoDBDocumentClient, so the stores, `ensureTable`
 * and `instanceof` checks see the client they know; anything without key nodes (CreateTable,
 * DescribeTable: the low-level commands) is sent as it is.
 */

/** What the thread answers: the HTTP status and body dynalite's server would have sent. */
export interface ThreadAnswer {
  statusCode: number;
  body: Uint8Array;
}

/** Hands dynalite one request as its HTTP server would take it (a POST to `/`). */
export type SendToThread = (request: {
  headers: Record<string, string>;
  body: string;
}) => Promise<ThreadAnswer>;

/**
 * What dynalite wants of a request besides its target and body: a JSON content type and the
 * shape of a SigV4 signature, which it does not check.
 */
const HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  authorization:
    'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  'x-amz-date': '20260101T000000Z',
  host: 'records.crossdock.local',
};

/** lib-dynamodb's key nodes: `{}` all values of a map, `[]` all members of a list, null the value itself. */
type KeyNodes = { [key: string]: KeyNodes } | KeyNodes[] | null;

interface DocumentCommand {
  input: Record<string, unknown>;
  inputKeyNodes?: KeyNodes;
  outputKeyNodes?: KeyNodes;
  clientCommand?: object;
}

const MARSHALL = { removeUndefinedValues: true, convertTopLevelContainer: true } as const;
const UNMARSHALL = {} as const;

/** Applies `convert` where the key nodes say values are (lib-dynamodb's commands/utils, same rules). */
function walk(value: unknown, nodes: KeyNodes | undefined, convert: (v: unknown) => unknown): unknown {
  if (value === undefined) return undefined;
  if (nodes === null || nodes === undefined) return convert(value);
  const keys = Object.keys(nodes);
  // `{}` (all values) and `[]` (all members) mean the same to lib-dynamodb.
  if (Array.isArray(nodes) || keys.length === 0) {
    if (Array.isArray(value)) return value.map((item) => convert(item));
    // An attribute left undefined is left out (removeUndefinedValues), as lib-dynamodb does.
    return Object.fromEntries(
      Object.entries(value as object)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, convert(v)]),
    );
  }
  if (keys.length === 1 && keys[0] === '*') {
    const each = (v: unknown) => walk(v, (nodes as Record<string, KeyNodes>)['*'], convert);
    if (Array.isArray(value)) return value.map(each);
    return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, each(v)]));
  }
  const out: Record<string, unknown> = { ...(value as object) };
  for (const [key, child] of Object.entries(nodes)) {
    const converted = walk((value as Record<string, unknown>)[key], child, convert);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}

const toAttribute = (value: unknown) => marshall(value as Record<string, unknown>, MARSHALL);
const fromAttribute = (value: unknown) =>
  unmarshall({ v: value } as Record<string, dynamodb.AttributeValue>, UNMARSHALL).v;

/** The DynamoDB operation of a command: `UpdateCommand` → `UpdateItem`, `DescribeTableCommand` → `DescribeTable`. */
function operationOf(command: DocumentCommand): string {
  const low = command.clientCommand ?? command;
  return low.constructor.name.replace(/Command$/, '');
}

/** The SDK's exception for an error answer (`{ __type: "…#ConditionalCheckFailedException", message }`). */
function exceptionOf(answer: ThreadAnswer): Error {
  let body: { __type?: string; message?: string; Message?: string } = {};
  try {
    body = JSON.parse(Buffer.from(answer.body).toString('utf8'));
  } catch {
    // Not JSON: the status says enough.
  }
  const name = (body.__type ?? 'DynamoDBServiceException').split('#').at(-1) as string;
  const message = body.message ?? body.Message ?? `records answered ${answer.statusCode}`;
  const Known = (dynamodb as Record<string, unknown>)[name];
  const $metadata = { httpStatusCode: answer.statusCode };
  if (typeof Known === 'function' && Known.prototype instanceof dynamodb.DynamoDBServiceException) {
    return new (Known as new (options: object) => Error)({ message, $metadata });
  }
  return new dynamodb.DynamoDBServiceException({ name, $fault: 'client', message, $metadata });
}

/** Makes `client.send` go straight to dynalite's thread. */
export function sendDirectly(client: DynamoDBDocumentClient, toThread: SendToThread): DynamoDBDocumentClient {
  const send = async (command: DocumentCommand) => {
    const input = command.inputKeyNodes
      ? walk(command.input, command.inputKeyNodes, toAttribute)
      : command.input;
    const answer = await toThread({
      headers: { ...HEADERS, 'x-amz-target': `DynamoDB_20120810.${operationOf(command)}` },
      body: JSON.stringify(input),
    });
    if (answer.statusCode !== 200) throw exceptionOf(answer);
    const output = JSON.parse(Buffer.from(answer.body).toString('utf8')) as Record<string, unknown>;
    const unmarshalled = command.outputKeyNodes
      ? walk(output, command.outputKeyNodes, fromAttribute)
      : output;
    return { ...(unmarshalled as object), $metadata: { httpStatusCode: 200 } };
  };
  Object.defineProperty(client, 'send', { value: send, configurable: true, writable: true });
  return client;
}
