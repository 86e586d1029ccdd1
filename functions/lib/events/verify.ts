import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SourceConfig } from '#config/schema.ts';
import { UnauthorizedWebhookError } from './errors.ts';

/** What proves the sender: header names lower-case, the body exactly as received. */
export interface VerifiableRequest {
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  rawBody: Buffer;
}

/** Where signing senders put `sha256=<hex>`: GitHub's header first, then the generic one. */
export const SIGNATURE_HEADERS = ['x-hub-signature-256', 'x-signature-256'] as const;

/**
 * Compares in constant time. Both sides are hashed first, so the buffers compared always have
 * the same length and neither a length mismatch nor a common prefix shows in the timing.
 */
function sameSecret(supplied: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(supplied), digest(expected));
}

/** Throws `UnauthorizedWebhookError` unless the request proves it comes from `source`. */
export function verifySender(source: SourceConfig, request: VerifiableRequest): void {
  const auth = source.auth;
  if ('hmacSecret' in auth) {
    verifySignature(source.name, auth.hmacSecret, request);
  } else if ('header' in auth) {
    const supplied = request.headers[auth.header.toLowerCase()];
    if (supplied === undefined)
      throw new UnauthorizedWebhookError(`source ${source.name}: header ${auth.header} is missing`);
    if (!sameSecret(supplied, auth.value))
      throw new UnauthorizedWebhookError(`source ${source.name}: header ${auth.header} does not match`);
  } else {
    const supplied = request.query[auth.query];
    if (supplied === undefined)
      throw new UnauthorizedWebhookError(`source ${source.name}: query parameter ${auth.query} is missing`);
    if (!sameSecret(supplied, auth.value))
      throw new UnauthorizedWebhookError(
        `source ${source.name}: query parameter ${auth.query} does not match`,
      );
  }
}

/** HMAC-SHA256 of the raw body (never a re-serialised one), as `sha256=<hex>` or bare hex. */
function verifySignature(sourceName: string, secret: string, request: VerifiableRequest): void {
  const header = SIGNATURE_HEADERS.find((name) => request.headers[name] !== undefined);
  if (header === undefined)
    throw new UnauthorizedWebhookError(
      `source ${sourceName}: signature header ${SIGNATURE_HEADERS.join(' or ')} is missing`,
    );
  const supplied = (request.headers[header] as string)
    .trim()
    .replace(/^sha256=/i, '')
    .toLowerCase();
  const expected = createHmac('sha256', secret).update(request.rawBody).digest('hex');
  if (!sameSecret(supplied, expected))
    throw new UnauthorizedWebhookError(
      `source ${sourceName}: signature in ${header} does not match the body`,
    );
}
