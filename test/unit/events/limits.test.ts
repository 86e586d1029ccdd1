import { describe, expect, it } from 'vitest';
import {
  MalformedPayloadError,
  UnsupportedContentTypeError,
  WebhookPayloadTooLargeError,
} from '../../../functions/lib/events/errors.ts';
import { checkBody, MAX_WEBHOOK_BODY } from '../../../functions/lib/events/limits.ts';

const json =
  (contentType: string, body = '{"events":[]}') =>
  () =>
    checkBody({ 'content-type': contentType }, Buffer.from(body));

describe('checkBody', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/vnd.docker.distribution.events.v1+json',
    'application/vnd.docker.distribution.events.v2+json',
    'application/cloudevents+json; charset=UTF-8',
  ])('accepts %s and returns the parsed JSON', (contentType) => {
    expect(json(contentType)()).toEqual({ events: [] });
  });

  it('accepts a body of exactly the limit', () => {
    const body = `"${'x'.repeat(MAX_WEBHOOK_BODY - 2)}"`;
    expect(json('application/json', body)()).toHaveLength(MAX_WEBHOOK_BODY - 2);
  });

  it('refuses a body over 1 MiB with 413, before looking at anything else', () => {
    const body = Buffer.alloc(MAX_WEBHOOK_BODY + 1, 0x20);
    expect(MAX_WEBHOOK_BODY).toBe(1024 * 1024);
    expect(() => checkBody({ 'content-type': 'text/plain' }, body)).toThrow(WebhookPayloadTooLargeError);
    expect(() => checkBody({}, body)).toThrow(expect.objectContaining({ statusCode: 413 }));
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', ''])(
    'refuses content type "%s" with 415',
    (contentType) => {
      expect(json(contentType)).toThrow(UnsupportedContentTypeError);
      expect(json(contentType)).toThrow(expect.objectContaining({ statusCode: 415 }));
    },
  );

  it('refuses a missing content type with 415', () => {
    expect(() => checkBody({}, Buffer.from('{}'))).toThrow(/content type \(none\) is not accepted/);
  });

  it.each(['', '{"events":', 'not json'])('refuses the invalid JSON %j with 400', (body) => {
    expect(json('application/json', body)).toThrow(MalformedPayloadError);
    expect(json('application/json', body)).toThrow(expect.objectContaining({ statusCode: 400 }));
  });
});
