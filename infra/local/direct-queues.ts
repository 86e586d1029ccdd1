import type { SQSClient } from '@aws-sdk/client-sqs';
import { abortable } from './in-memory-handler.ts';

/**
 * The local runtime's queue client without the SDK's request pipeline, as direct-records.ts
 * does for the records. Every message operation of `serve` went through the SDK's middleware —
 * serialising, endpoint resolution, retries, SigV4 signing, MD5 checks of every body — and
 * then through Fastify's `inject` into fauxqs in the same process: together ~11 % of the main
 * thread under W5 (docs/performance.md, "The local runtime's own cost"). Here the commands on a
 * job's path (send, batch send, receive, delete, batch delete) call fauxqs's own action — the
 * function its router calls with the JSON body the SDK would have sent — on the queues' store,
 * and the answer is shaped as the SDK shapes it (binary attribute values as bytes, `$metadata`).
 *
 * An action that throws (fauxqs's SqsError: a missing queue, a bad parameter) has changed
 * nothing, so the command goes through the SDK then, which answers with the SDK's own exception
 * class. Any other command goes through the SDK as it is.
 */

/** fauxqs's action: the JSON protocol's request body and the store, the body of its answer. */
export type QueueAction = (body: Record<string, unknown>, store: unknown) => unknown;

/** The actions by the SDK command they stand for. */
export type QueueActions = Record<
  'SendMessage' | 'SendMessageBatch' | 'ReceiveMessage' | 'DeleteMessage' | 'DeleteMessageBatch',
  QueueAction
>;

interface Command {
  input: Record<string, unknown>;
}

const base64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

/**
 * A copy of message attributes with their binary values converted (`binary`): the string
 * lists copied too, so neither side keeps the other's arrays.
 */
function convertAttributes<From, To>(
  attributes: unknown,
  binary: (value: From) => To,
): Record<string, unknown> | undefined {
  if (attributes === undefined) return undefined;
  type Attribute = { BinaryValue?: From; BinaryListValues?: From[]; StringListValues?: string[] };
  const converted: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attributes as Record<string, Attribute>)) {
    const { BinaryValue, BinaryListValues, StringListValues, ...rest } = value;
    converted[name] = {
      ...rest,
      ...(StringListValues !== undefined ? { StringListValues: [...StringListValues] } : {}),
      ...(BinaryValue !== undefined ? { BinaryValue: binary(BinaryValue) } : {}),
      ...(BinaryListValues !== undefined ? { BinaryListValues: BinaryListValues.map(binary) } : {}),
    };
  }
  return converted;
}

/** Message attributes as the SDK's JSON serialiser sends them: binary values in base64. */
const toWire = (attributes: unknown) => convertAttributes(attributes, base64);
/** Message attributes as the SDK parses them: binary values as bytes (a copy, not fauxqs's own). */
const fromWire = (attributes: unknown) => convertAttributes(attributes, bytes);

function withAttributes<T extends Record<string, unknown>>(
  item: T,
  convert: (attributes: unknown) => unknown,
): T {
  if (item.MessageAttributes === undefined) return { ...item };
  return { ...item, MessageAttributes: convert(item.MessageAttributes) };
}

/** The request body the SDK would send for the command. */
function bodyOf(name: keyof QueueActions, input: Record<string, unknown>): Record<string, unknown> {
  if (name === 'SendMessage') return withAttributes(input, toWire);
  if (name === 'SendMessageBatch')
    return {
      ...input,
      Entries: (input.Entries as Record<string, unknown>[]).map((entry) => withAttributes(entry, toWire)),
    };
  return { ...input };
}

/** The answer as the SDK would parse it. */
function outputOf(name: keyof QueueActions, answer: unknown): Record<string, unknown> {
  const output = { ...((answer ?? {}) as Record<string, unknown>) };
  if (name === 'ReceiveMessage' && Array.isArray(output.Messages)) {
    output.Messages = output.Messages.map((message: Record<string, unknown>) => ({
      ...withAttributes(message, fromWire),
      ...(message.Attributes !== undefined ? { Attributes: { ...(message.Attributes as object) } } : {}),
    }));
  }
  for (const key of Object.keys(output)) if (output[key] === undefined) delete output[key];
  return { ...output, $metadata: { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 } };
}

/** `client`, whose `send` calls fauxqs's actions on `store` for the commands of a job's path. */
export function sendDirectly(
  client: SQSClient,
  store: unknown,
  actions: QueueActions,
  isActionError: (error: unknown) => boolean,
): SQSClient {
  const viaSdk = client.send.bind(client) as (command: unknown, options?: unknown) => Promise<unknown>;
  const direct = async (command: Command, options?: { abortSignal?: AbortSignal }) => {
    const name = command.constructor.name.replace(/Command$/, '') as keyof QueueActions;
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
    if (!action) return viaSdk(command, options);
    const body = bodyOf(name, command.input);
    try {
      // An aborted long poll answers at once and its action runs on, as through the SDK: a
      // message it takes then comes back after the visibility timeout.
      const answer = await abortable(
        Promise.resolve().then(() => action(body, store)),
        options?.abortSignal,
      );
      return outputOf(name, answer);
    } catch (error) {
      // Refused before it changed anything: the SDK turns the same refusal into its exception.
      if (isActionError(error)) return viaSdk(command, options);
      throw error;
    }
  };
  (client as unknown as { send: typeof direct }).send = direct;
  return client;
}
