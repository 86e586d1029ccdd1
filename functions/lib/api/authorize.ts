import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiUnauthorizedError } from './errors.ts';

/**
 * The management API's bearer token check (RFC 6750). Throws `ApiUnauthorizedError` (401 with
 * `WWW-Authenticate: Bearer …`) unless `Authorization: Bearer <expectedToken>` is present.
 * Both sides are hashed before the constant-time comparison, so neither the token's length nor a
 * common prefix shows in the timing. Header names must be lower-case (as Node and API Gateway
 * give them).
 */
export function authorize(headers: Record<string, string | undefined>, expectedToken: string): void {
  const header = headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw new ApiUnauthorizedError('this API needs a bearer token (Authorization: Bearer <token>)');
  }
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) {
    throw new ApiUnauthorizedError(
      'the Authorization header must be "Bearer <token>"',
      'Bearer realm="crossdock", error="invalid_request"',
    );
  }
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  if (!timingSafeEqual(digest(match[1] as string), digest(expectedToken))) {
    throw new ApiUnauthorizedError(
      'the bearer token is not valid',
      'Bearer realm="crossdock", error="invalid_token"',
    );
  }
}
