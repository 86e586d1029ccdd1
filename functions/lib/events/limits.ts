import { MAX_REQUEST_BODY_BYTES } from '#config/defaults.ts';
import { MalformedPayloadError, UnsupportedContentTypeError, WebhookPayloadTooLargeError } from './errors.ts';

/** Registries send small JSON documents; anything bigger is refused before it is parsed. */
export const MAX_WEBHOOK_BODY = MAX_REQUEST_BODY_BYTES;

/** Media types registries use for their webhook bodies (parameters such as charset allowed). */
export const WEBHOOK_CONTENT_TYPES: ReadonlySet<string> = new Set([
  'application/json',
  // CNCF distribution up to v2.x, and from v3.0.0
  'application/vnd.docker.distribution.events.v1+json',
  'application/vnd.docker.distribution.events.v2+json',
  // Harbor's CloudEvents format (structured mode)
  'application/cloudevents+json',
]);

/**
 * Checks the body in the order the route's statuses are documented: size (413), content type
 * (415), JSON (400). Returns the parsed JSON.
 */
export function checkBody(headers: Record<string, string | undefined>, rawBody: Buffer): unknown {
  if (rawBody.length > MAX_WEBHOOK_BODY)
    throw new WebhookPayloadTooLargeError(
      `body of ${rawBody.length} bytes is over the ${MAX_WEBHOOK_BODY}-byte limit`,
    );
  const contentType = headers['content-type'];
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!WEBHOOK_CONTENT_TYPES.has(mediaType))
    throw new UnsupportedContentTypeError(
      `content type ${contentType === undefined ? '(none)' : JSON.stringify(mediaType)} is not accepted; ` +
        `send one of ${[...WEBHOOK_CONTENT_TYPES].join(', ')}`,
    );
  try {
    return JSON.parse(rawBody.toString('utf8'));
  } catch {
    // Not the parser's message: it quotes the body, which may hold a secret.
    throw new MalformedPayloadError('body is not valid JSON');
  }
}
