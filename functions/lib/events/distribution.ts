import { z } from 'zod';
import { type ParsedEvents, type ParseOptions, type RegistryEvent, validEvent } from './registry-event.ts';
import { parseShape } from './shape.ts';

/**
 * CNCF distribution notifications (`application/vnd.docker.distribution.events.v1+json` up to
 * v2.x, `.v2+json` from v3; GitLab's registry uses the same envelope): `{events: [...]}`.
 *
 * Emitted:
 * - `push` of a manifest by tag: `{action:'push', tag, digest, mediaType}`.
 * - `delete` exactly as distribution reports it. A manifest delete arrives as one event with
 *   `{repository, digest}` and then one `{repository, tag}` per tag it had; both are emitted,
 *   the first as a delete with `digest` and no tag, the others as deletes with `tag` and no
 *   digest. (A blob deleted through the API also looks like `{repository, digest}`; distribution
 *   gives no way to tell it apart.)
 *
 * Dropped (counted as ignored): pull and mount, blob events, pushes without a tag (the
 * children of an index, pushed by digest before it), a repository delete (neither tag nor
 * digest), unknown actions and events whose repository, tag or digest is invalid.
 */

const targetSchema = z.looseObject({
  repository: z.string(),
  mediaType: z.string().optional(),
  digest: z.string().optional(),
  tag: z.string().optional(),
  url: z.string().optional(),
});

const eventSchema = z.looseObject({
  id: z.string(),
  timestamp: z.string().optional(),
  action: z.string(),
  target: targetSchema,
});

const envelopeSchema = z.looseObject({ events: z.array(eventSchema) });

type DistributionEvent = z.infer<typeof eventSchema>;

/** Layer and config media types, and the generic one distribution gives uploaded blobs. */
const BLOB_MEDIA_TYPE =
  /^application\/octet-stream$|\.layer\.|\.rootfs\.(foreign\.)?diff\.|^application\/vnd\.oci\.image\.config\.|^application\/vnd\.docker\.container\.image\.v1\+json$/;

function isBlobEvent(target: DistributionEvent['target']): boolean {
  return (
    (target.url?.includes('/blobs/') ?? false) ||
    (target.mediaType !== undefined && BLOB_MEDIA_TYPE.test(target.mediaType))
  );
}

function toRegistryEvent(event: DistributionEvent, registry: string): RegistryEvent | undefined {
  const { target } = event;
  if (event.action !== 'push' && event.action !== 'delete') return undefined;
  if (isBlobEvent(target)) return undefined;
  if (event.action === 'push' && !target.tag) return undefined;
  if (event.action === 'delete' && !target.tag && !target.digest) return undefined;
  return validEvent({
    id: event.id,
    registry,
    repository: target.repository,
    action: event.action,
    ...(target.tag ? { tag: target.tag } : {}),
    ...(target.digest ? { digest: target.digest } : {}),
    ...(target.mediaType ? { mediaType: target.mediaType } : {}),
    ...(event.timestamp ? { occurredAt: event.timestamp } : {}),
  });
}

export function parseDistributionEvents(payload: unknown, options: ParseOptions): ParsedEvents {
  const envelope = parseShape(envelopeSchema, payload, 'distribution notification envelope');
  const events: RegistryEvent[] = [];
  for (const event of envelope.events) {
    const normalised = toRegistryEvent(event, options.registry);
    if (normalised) events.push(normalised);
  }
  return { events, ignored: envelope.events.length - events.length };
}
