import { createHash } from 'node:crypto';
import type { RegistryEvent } from './registry-event.ts';

/**
 * Keys for recognising the same delivery seen twice: deliveries are deduplicated, not work
 * (docs/architecture.md, "Webhook deliveries"). Job ids are derived from them elsewhere.
 */

/** The fields that say what happened, in a fixed order, for hashing. */
function canonical(event: RegistryEvent): string {
  return JSON.stringify([
    event.registry,
    event.action,
    event.repository,
    event.tag ?? null,
    event.digest ?? null,
    event.mediaType ?? null,
    event.occurredAt ?? null,
  ]);
}

/**
 * `<registry>:<event id>` when the sender gave an id (ids are unique per sender, not across
 * registries), else `<registry>:sha256:<hash of the normalised event>`.
 */
export function deliveryKey(event: RegistryEvent): string {
  if (event.id !== '') return `${event.registry}:${event.id}`;
  return `${event.registry}:sha256:${createHash('sha256').update(canonical(event)).digest('hex')}`;
}
