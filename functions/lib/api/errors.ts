/**
 * Errors of the management API (`/api/...`), each carrying the HTTP status and the `code` the
 * router answers with (`{ error: { code, message } }`). Every class sets `name`, so handlers and
 * logs can match on it. Messages name paths, fields and names, never a secret or a value a
 * client sent for one.
 */

export interface Issue {
  /** Where in the request: `credentials.password`, `filters.tags[0]`, `limit`; '' for the whole body. */
  path: string;
  message: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;
  /** Its status is for the caller (functions/lib/runtime/http-errors.ts). */
  readonly httpError = true as const;
  readonly code: string;
  /** Extra response headers (`Allow`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(message: string, statusCode: number, code: string, headers: Record<string, string> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.headers = headers;
  }
}

/** 400: a body, parameter or cursor that is not valid; `issues` lists each problem with its path. */
export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
  readonly issues: readonly Issue[];

  constructor(message: string, issues: readonly Issue[] = []) {
    super(message, 400, 'bad_request');
    this.issues = issues;
  }
}

/** 401: no bearer token, or the wrong one. */
export class ApiUnauthorizedError extends ApiError {
  override name = 'ApiUnauthorizedError';
  constructor(message: string, challenge = 'Bearer realm="crossdock"') {
    super(message, 401, 'unauthorized', { 'www-authenticate': challenge });
  }
}

/** 404: no such route, or no registry, source, policy or job of that name or id. */
export class ApiNotFoundError extends ApiError {
  override name = 'ApiNotFoundError';
  constructor(message: string) {
    super(message, 404, 'not_found');
  }
}

/** 405: the route exists, not with this method. */
export class MethodNotAllowedError extends ApiError {
  override name = 'MethodNotAllowedError';
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(`${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`, 405, 'method_not_allowed', {
      allow: allowed.join(', '),
    });
  }
}

/**
 * 409: the request conflicts with the records: a name taken, a registry still in use, a job in a
 * status that cannot be cancelled or retried.
 */
export class ApiConflictError extends ApiError {
  override name = 'ApiConflictError';
  constructor(message: string) {
    super(message, 409, 'conflict');
  }
}

/** 413: a body over `MAX_API_BODY`. */
export class ApiPayloadTooLargeError extends ApiError {
  override name = 'ApiPayloadTooLargeError';
  constructor(message: string) {
    super(message, 413, 'payload_too_large');
  }
}

/** 415: a body that is not JSON. */
export class UnsupportedMediaTypeError extends ApiError {
  override name = 'UnsupportedMediaTypeError';
  constructor(message: string) {
    super(message, 415, 'unsupported_media_type');
  }
}
