import { describe, expect, it } from 'vitest';
import {
  MalformedPayloadError,
  UnauthorizedWebhookError,
  UnknownSourceError,
  UnsupportedContentTypeError,
  UnsupportedFormatError,
  WebhookError,
  WebhookPayloadTooLargeError,
} from '../../../functions/lib/events/errors.ts';

describe('webhook errors', () => {
  it.each([
    [UnauthorizedWebhookError, 401],
    [UnknownSourceError, 404],
    [WebhookPayloadTooLargeError, 413],
    [UnsupportedContentTypeError, 415],
    [MalformedPayloadError, 400],
    [UnsupportedFormatError, 400],
  ])('%o carries its status and its name', (ErrorClass, statusCode) => {
    const error = new ErrorClass('why');
    expect(error).toBeInstanceOf(WebhookError);
    expect(error.statusCode).toBe(statusCode);
    expect(error.name).toBe(ErrorClass.name);
    expect(error.message).toBe('why');
  });
});
