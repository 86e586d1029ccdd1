/**
 * Errors of the webhook route (`POST /webhooks/{source}`), each carrying the HTTP status the
 * handler answers with. Every class sets `name`, so handlers and logs can match on it. Messages
 * name headers, parameters and fields, never a secret or a value a sender supplied for one.
 */

export class WebhookError extends Error {
  override name = 'WebhookError';
  readonly statusCode: number;
  /** Its status is for the caller (functions/lib/runtime/http-errors.ts). */
  readonly httpError = true as const;

  constructor(message: string, statusCode = 400) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** 401: missing or wrong auth header, query token or signature. */
export class UnauthorizedWebhookError extends WebhookError {
  override name = 'UnauthorizedWebhookError';
  constructor(message: string) {
    super(message, 401);
  }
}

/** 404: no source of that name is configured. */
export class UnknownSourceError extends WebhookError {
  override name = 'UnknownSourceError';
  constructor(message: string) {
    super(message, 404);
  }
}

/** 413: the body is over `MAX_WEBHOOK_BODY`. */
export class WebhookPayloadTooLargeError extends WebhookError {
  override name = 'WebhookPayloadTooLargeError';
  constructor(message: string) {
    super(message, 413);
  }
}

/** 415: the content type is not one of the JSON types registries send. */
export class UnsupportedContentTypeError extends WebhookError {
  override name = 'UnsupportedContentTypeError';
  constructor(message: string) {
    super(message, 415);
  }
}

/** 400: not JSON, or JSON that is not the shape of the source's format. */
export class MalformedPayloadError extends WebhookError {
  override name = 'MalformedPayloadError';
  constructor(message: string) {
    super(message, 400);
  }
}

/** 400: the source's format is valid config but has no parser yet. */
export class UnsupportedFormatError extends WebhookError {
  override name = 'UnsupportedFormatError';
  constructor(message: string) {
    super(message, 400);
  }
}
