import { z } from 'zod';
import { isStructuredCloudEvent, structuredCloudEvent } from './cloud-event.ts';
import {
  hashedEventId,
  type ParsedEvents,
  type ParseOptions,
  type RegistryEvent,
  validEvent,
} from './registry-event.ts';
import { parseShape } from './shape.ts';

/**
 * Harbor webhooks, in either of its payload formats:
 * - default: `{type: PUSH_ARTIFACT|DELETE_ARTIFACT, occur_at (unix s), event_data}`;
 * - CloudEvents (structured): `{specversion, id, type: harbor.artifact.pushed|deleted, time, data}`,
 *   `data` shaped like `event_data`.
 * One event per resource that has a tag; `repo_full_name` is the repository. Harbor gives no
 * id per resource, so the id is a hash of (type, repository, digest, tag, occur_at or the
 * CloudEvent's id): a redelivery of the same payload gets the same ids.
 * Other event types (pulls, scans, quota, …) and tagless resources are counted as ignored.
 */

/** A Map, not an object: the type comes from the sender, and `toString` or `__proto__` is no action. */
const ACTIONS = new Map<string, RegistryEvent['action']>([
  ['PUSH_ARTIFACT', 'push'],
  ['DELETE_ARTIFACT', 'delete'],
  ['harbor.artifact.pushed', 'push'],
  ['harbor.artifact.deleted', 'delete'],
]);

const eventDataSchema = z.looseObject({
  resources: z.array(
    z.looseObject({
      digest: z.string().optional(),
      tag: z.string().optional(),
      resource_url: z.string().optional(),
    }),
  ),
  repository: z.looseObject({
    name: z.string().optional(),
    namespace: z.string().optional(),
    repo_full_name: z.string(),
  }),
});

const typeOnlySchema = z.looseObject({ type: z.string() });

const defaultSchema = z.looseObject({
  type: z.string(),
  occur_at: z.number(),
  event_data: eventDataSchema,
});

const cloudEventSchema = structuredCloudEvent(eventDataSchema);

interface HarborEnvelope {
  type: string;
  /** What makes this delivery unique besides the resource: occur_at or the CloudEvent id. */
  deliveryMark: string;
  occurredAt?: string;
  data: z.infer<typeof eventDataSchema>;
}

function readEnvelope(payload: unknown): HarborEnvelope {
  if (isStructuredCloudEvent(payload)) {
    const ce = parseShape(cloudEventSchema, payload, 'Harbor CloudEvent');
    return { type: ce.type, deliveryMark: ce.id, data: ce.data, ...(ce.time ? { occurredAt: ce.time } : {}) };
  }
  const event = parseShape(defaultSchema, payload, 'Harbor webhook payload');
  const occurredAt = new Date(event.occur_at * 1000);
  return {
    type: event.type,
    deliveryMark: String(event.occur_at),
    data: event.event_data,
    ...(Number.isNaN(occurredAt.getTime()) ? {} : { occurredAt: occurredAt.toISOString() }),
  };
}

export function parseHarborEvents(payload: unknown, options: ParseOptions): ParsedEvents {
  // Event types crossdock does not act on may carry other event_data shapes: check only `type`.
  const { type } = parseShape(
    typeOnlySchema,
    payload,
    isStructuredCloudEvent(payload) ? 'Harbor CloudEvent' : 'Harbor webhook payload',
  );
  const action = ACTIONS.get(type);
  if (action === undefined) return { events: [], ignored: 1 };

  const envelope = readEnvelope(payload);
  const repository = envelope.data.repository.repo_full_name;
  const events: RegistryEvent[] = [];
  for (const resource of envelope.data.resources) {
    if (!resource.tag) continue;
    const digest = resource.digest ?? '';
    const event = validEvent({
      id: hashedEventId([type, repository, digest, resource.tag, envelope.deliveryMark]),
      registry: options.registry,
      repository,
      action,
      tag: resource.tag,
      ...(digest ? { digest } : {}),
      ...(envelope.occurredAt ? { occurredAt: envelope.occurredAt } : {}),
    });
    if (event) events.push(event);
  }
  return { events, ignored: envelope.data.resources.length - events.length };
}
