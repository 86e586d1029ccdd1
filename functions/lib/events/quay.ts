import { z } from 'zod';
import {
  hashedEventId,
  type ParsedEvents,
  type ParseOptions,
  type RegistryEvent,
  validEvent,
} from './registry-event.ts';
import { parseShape } from './shape.ts';

/**
 * Quay's repository notifications (webhook method), the "Push to Repository" event:
 * `{repository: "ns/repo", namespace, name, docker_url, homepage, updated_tags}`, where
 * `updated_tags` is a list of tags, or (older Quay) an object of tag → image id. One push per
 * tag; Quay sends no digest (the job reads it from the source) and no event type: other events
 * (builds, vulnerabilities) have no `updated_tags` and are counted as ignored.
 *
 * Quay gives no event id, and the list form of two pushes of one tag is the same payload, so the
 * id includes the time the delivery was received: a push is never mistaken for an earlier one.
 * A delivery Quay sends again makes a second job, which finds the image at the destination and
 * ends SKIPPED (docs/architecture.md, "Webhook deliveries").
 */

const pushSchema = z.looseObject({
  repository: z.string(),
  updated_tags: z.union([z.array(z.string()), z.record(z.string(), z.unknown())]),
});

const anySchema = z.looseObject({ repository: z.string().optional() });

export function parseQuayEvents(payload: unknown, options: ParseOptions): ParsedEvents {
  const shape = parseShape(anySchema, payload, 'Quay notification');
  if (!('updated_tags' in shape)) return { events: [], ignored: 1 };
  const push = parseShape(pushSchema, payload, 'Quay repository push');
  const tags = Array.isArray(push.updated_tags)
    ? push.updated_tags.map((tag) => [tag, ''] as const)
    : Object.entries(push.updated_tags).map(([tag, image]) => [tag, String(image)] as const);
  const events: RegistryEvent[] = [];
  for (const [tag, image] of tags) {
    const event = validEvent({
      id: hashedEventId(['quay', push.repository, tag, image, options.receivedAt ?? '']),
      registry: options.registry,
      repository: push.repository,
      action: 'push',
      tag,
      ...(options.receivedAt ? { occurredAt: options.receivedAt } : {}),
    });
    if (event) events.push(event);
  }
  return { events, ignored: tags.length - events.length };
}
