import { z } from 'zod';
import { isStructuredCloudEvent, structuredCloudEvent } from './cloud-event.ts';
import { MalformedPayloadError } from './errors.ts';
import {
  hashedEventId,
  oneEvent,
  type ParsedEvents,
  type ParseOptions,
  type RegistryEvent,
  validEvent,
} from './registry-event.ts';
import { parseShape } from './shape.ts';

/**
 * zot's events extension: one CloudEvent per delivery, sent by the CloudEvents SDK over HTTP.
 * - binary mode (the SDK's default): the attributes in `ce-*` headers (`ce-type`, `ce-id`,
 *   `ce-time`), the body the event's data;
 * - structured mode (`application/cloudevents+json`): `{specversion, id, type, time, data}`.
 * The data: `{name, reference, digest, mediaType, manifest}` (`manifest` only on updates).
 *
 * Types end in `.image.updated` (push) and `.image.deleted` (delete); the prefix is
 * `zotregistry` unless the registry's `typePrefix` says otherwise. `reference` is the tag, or the
 * digest when the manifest was pushed or deleted by digest: a push by digest has no tag and is
 * dropped (as distribution's index children are); a delete by digest is a digest delete.
 * `repository.created`, `image.lint_failed` and other types are counted as ignored. The id is the
 * CloudEvent's (a redelivery keeps it).
 */

const ACTIONS = new Map<string, RegistryEvent['action']>([
  ['image.updated', 'push'],
  ['image.deleted', 'delete'],
]);

const dataSchema = z.looseObject({
  name: z.string(),
  reference: z.string(),
  digest: z.string().optional(),
  mediaType: z.string().optional(),
});

const structuredSchema = structuredCloudEvent(z.unknown());

interface ZotEnvelope {
  type: string;
  id: string | undefined;
  time: string | undefined;
  data: unknown;
}

function readEnvelope(payload: unknown, headers: ParseOptions['headers']): ZotEnvelope {
  if (isStructuredCloudEvent(payload)) {
    const ce = parseShape(structuredSchema, payload, 'zot CloudEvent');
    return { type: ce.type, id: ce.id, time: ce.time, data: ce.data };
  }
  const type = headers?.['ce-type'];
  if (!type)
    throw new MalformedPayloadError(
      'not a zot CloudEvent: no ce-type header, and no specversion in the body',
    );
  return { type, id: headers?.['ce-id'], time: headers?.['ce-time'], data: payload };
}

/** The action a type names: the last two of its dot-separated parts, whatever the prefix. */
function actionOf(type: string): RegistryEvent['action'] | undefined {
  return ACTIONS.get(type.split('.').slice(-2).join('.'));
}

export function parseZotEvents(payload: unknown, options: ParseOptions): ParsedEvents {
  const envelope = readEnvelope(payload, options.headers);
  const action = actionOf(envelope.type);
  if (action === undefined) return { events: [], ignored: 1 };

  const data = parseShape(dataSchema, envelope.data, `zot ${envelope.type} event's data`);
  const byDigest = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:/.test(data.reference);
  const tag = byDigest ? undefined : data.reference;
  const digest = data.digest || (byDigest ? data.reference : undefined);
  if (action === 'push' && tag === undefined) return { events: [], ignored: 1 };

  const id =
    envelope.id ||
    hashedEventId([envelope.type, data.name, data.reference, data.digest ?? '', envelope.time ?? '']);
  const event = validEvent({
    id,
    registry: options.registry,
    repository: data.name,
    action,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
    ...(data.mediaType ? { mediaType: data.mediaType } : {}),
    ...(envelope.time ? { occurredAt: envelope.time } : {}),
  });
  return oneEvent(event);
}
