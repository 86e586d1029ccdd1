import { z } from 'zod';
import {
  hashedEventId,
  oneEvent,
  type ParsedEvents,
  type ParseOptions,
  validEvent,
} from './registry-event.ts';
import { parseShape } from './shape.ts';

/**
 * Docker Hub's repository webhooks: a push of one tag, `{callback_url, push_data: {pushed_at
 * (unix s), pusher, tag}, repository: {repo_name: "ns/repo", …}}`. No digest (the job reads it
 * from the source), no event id: the id is a hash of (repository, tag, pushed_at), so a
 * redelivery is the same event. Docker Hub sets no header and signs nothing: its source proves
 * itself with a secret in the URL (`auth: { query, value }`). `callback_url` is never called.
 */

const pushSchema = z.looseObject({
  push_data: z.looseObject({ tag: z.string(), pushed_at: z.number().optional() }),
  repository: z.looseObject({ repo_name: z.string() }),
});

export function parseDockerHubEvents(payload: unknown, options: ParseOptions): ParsedEvents {
  const push = parseShape(pushSchema, payload, 'Docker Hub webhook payload');
  const repository = push.repository.repo_name;
  const { tag, pushed_at: pushedAt } = push.push_data;
  const occurredAt = pushedAt === undefined ? undefined : new Date(pushedAt * 1000);
  const event = validEvent({
    id: hashedEventId(['dockerhub', repository, tag, pushedAt ?? options.receivedAt ?? '']),
    registry: options.registry,
    repository,
    action: 'push',
    tag,
    ...(occurredAt && !Number.isNaN(occurredAt.getTime()) ? { occurredAt: occurredAt.toISOString() } : {}),
  });
  return oneEvent(event);
}
