import { createHash } from 'node:crypto';
import { validateDigest, validateRepository, validateTag } from '#registry/reference.ts';

/**
 * One push or delete, normalised from any registry's webhook format.
 *
 * - push: always has `tag` (tagless pushes, such as an index's children, are dropped) and,
 *   when the sender gives it, `digest`.
 * - delete: a tag delete has `tag` (and `digest` when the sender knows it, as Harbor does); a
 *   distribution manifest delete has `digest` and no tag, because distribution reports the
 *   manifest and each of its tags as separate events.
 */
export interface RegistryEvent {
  /** The sender's event id, or a hash of the event when the format has none. */
  id: string;
  /** The source's registry name from config, never a URL or host from the payload. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  action: 'push' | 'delete';
  mediaType?: string;
  /** ISO 8601, as the sender stated it. */
  occurredAt?: string;
}

export interface ParsedEvents {
  events: RegistryEvent[];
  /** Events (or Harbor resources) received but not turned into a RegistryEvent. */
  ignored: number;
}

export interface ParseOptions {
  /** The source's `registry` from config. */
  registry: string;
  /** The delivery's headers, lower-case names (CloudEvents' binary mode keeps the event's attributes there). */
  headers?: Record<string, string | undefined>;
  /** When the delivery arrived (ISO 8601): part of the id where the sender gives neither id nor time. */
  receivedAt?: string;
}

/**
 * The event with empty optional fields left out, or undefined when a name is not valid per the
 * distribution grammar. Such events are ignored, not refused: a distribution registry retries
 * a non-2xx answer forever and blocks every later event behind it.
 */
export function validEvent(event: RegistryEvent): RegistryEvent | undefined {
  const result: RegistryEvent = {
    id: event.id,
    registry: event.registry,
    repository: event.repository,
    action: event.action,
  };
  if (event.tag) result.tag = event.tag;
  if (event.digest) result.digest = event.digest;
  if (event.mediaType) result.mediaType = event.mediaType;
  if (event.occurredAt) result.occurredAt = event.occurredAt;
  try {
    validateRepository(result.repository);
    if (result.tag !== undefined) validateTag(result.tag);
    if (result.digest !== undefined) validateDigest(result.digest);
  } catch {
    return undefined;
  }
  return result;
}

/**
 * An event id for senders that give none: a hash of what identifies the event (in a fixed
 * order), so that the same delivery sent again gets the same id.
 */
export function hashedEventId(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** A payload that carries one event: it, or one ignored when it was not valid. */
export function oneEvent(event: RegistryEvent | undefined): ParsedEvents {
  return event ? { events: [event], ignored: 0 } : { events: [], ignored: 1 };
}
