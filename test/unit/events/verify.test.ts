import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SourceConfig } from '#config/schema.ts';
import { UnauthorizedWebhookError } from '../../../functions/lib/events/errors.ts';
import { verifySender } from '../../../functions/lib/events/verify.ts';

const SECRET = 'Bearer s3cr3t-token-value';
const BODY = Buffer.from('{"events":[]}');

const source = (auth: SourceConfig['auth']): SourceConfig => ({
  name: 'hub-a',
  registry: 'hub-a',
  format: 'distribution',
  auth,
});
const request = (
  headers: Record<string, string> = {},
  query: Record<string, string> = {},
  rawBody = BODY,
) => ({
  headers,
  query,
  rawBody,
});
const hmac = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex');

/** The error thrown, checked to be a 401 that reveals neither the secret nor what was sent. */
function rejection(run: () => void, ...hidden: string[]): UnauthorizedWebhookError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedWebhookError);
    const e = error as UnauthorizedWebhookError;
    expect(e.statusCode).toBe(401);
    expect(e.name).toBe('UnauthorizedWebhookError');
    for (const text of hidden) expect(e.message).not.toContain(text);
    return e;
  }
  throw new Error('expected verifySender to throw');
}

describe('verifySender', () => {
  describe('header auth', () => {
    const headerSource = source({ header: 'Authorization', value: SECRET });

    it('accepts the configured value in the lower-cased header', () => {
      expect(() => verifySender(headerSource, request({ authorization: SECRET }))).not.toThrow();
    });

    it('refuses a wrong value without echoing either value', () => {
      const error = rejection(
        () => verifySender(headerSource, request({ authorization: 'Bearer guess' })),
        SECRET,
        'guess',
      );
      expect(error.message).toMatch(/header Authorization does not match/);
    });

    it('refuses a value that is a prefix of the secret (lengths differ)', () => {
      rejection(() => verifySender(headerSource, request({ authorization: SECRET.slice(0, 10) })), SECRET);
    });

    it('refuses a missing header, naming it', () => {
      const error = rejection(() => verifySender(headerSource, request({})), SECRET);
      expect(error.message).toMatch(/header Authorization is missing/);
    });
  });

  describe('hmacSecret', () => {
    const signed = source({ hmacSecret: 'hmac-secret' });

    it('accepts GitHub form sha256=<hex> in x-hub-signature-256', () => {
      const headers = { 'x-hub-signature-256': `sha256=${hmac('hmac-secret', BODY)}` };
      expect(() => verifySender(signed, request(headers))).not.toThrow();
    });

    it('accepts x-signature-256 too', () => {
      const headers = { 'x-signature-256': `sha256=${hmac('hmac-secret', BODY)}` };
      expect(() => verifySender(signed, request(headers))).not.toThrow();
    });

    it('refuses a signature made with another secret', () => {
      const supplied = hmac('other', BODY);
      rejection(
        () => verifySender(signed, request({ 'x-hub-signature-256': `sha256=${supplied}` })),
        'hmac-secret',
        supplied,
      );
    });

    it('refuses a signature of another body (the raw bytes are signed)', () => {
      const headers = {
        'x-hub-signature-256': `sha256=${hmac('hmac-secret', Buffer.from('{ "events": [] }'))}`,
      };
      rejection(() => verifySender(signed, request(headers)), 'hmac-secret');
    });

    it('refuses a signature of the wrong length', () => {
      const headers = { 'x-hub-signature-256': `sha256=${hmac('hmac-secret', BODY).slice(0, 20)}` };
      rejection(() => verifySender(signed, request(headers)), 'hmac-secret');
    });

    it('refuses a request without a signature header, naming the headers looked at', () => {
      const error = rejection(() => verifySender(signed, request({ authorization: 'x' })), 'hmac-secret');
      expect(error.message).toMatch(/x-hub-signature-256 or x-signature-256 is missing/);
    });
  });

  describe('query auth', () => {
    const queried = source({ query: 'token', value: 'q-secret' });

    it('accepts the token in the query string', () => {
      expect(() => verifySender(queried, request({}, { token: 'q-secret' }))).not.toThrow();
    });

    it('refuses a wrong or missing token', () => {
      rejection(() => verifySender(queried, request({}, { token: 'nope' })), 'q-secret', 'nope');
      const error = rejection(() => verifySender(queried, request({}, {})), 'q-secret');
      expect(error.message).toMatch(/query parameter token is missing/);
    });

    it('does not take the token from a header', () => {
      rejection(() => verifySender(queried, request({ token: 'q-secret' })), 'q-secret');
    });
  });
});
