import type { MiddlewareObj } from '@middy/core';
import { JobExistsError, JobNotFoundError, JobTransitionError } from '../jobs/errors.ts';
import { InvalidCursorError, RecordNotFoundError } from '../stores/errors.ts';

/**
 * The one map from errors to HTTP statuses, for the webhook route and the management API.
 * The HTTP layers' own errors (the API's `ApiError`s, the webhook's `WebhookError`s) carry
 * their 4xx status; errors of the domain below map by their class here. Anything else —
 * a registry's 404 among them: it is not the API's 404 — has no status of its own and is
 * answered 500 without its message.
 */

const DOMAIN_STATUSES: [new (...args: never[]) => Error, number][] = [
  [JobNotFoundError, 404],
  [RecordNotFoundError, 404],
  [JobTransitionError, 409],
  [JobExistsError, 409],
  [InvalidCursorError, 400],
];

/** An error of the HTTP layers: it says which 4xx it is. */
interface HttpStatusError extends Error {
  statusCode: number;
  /** Marked for the request layers that the message may be shown to the caller. */
  httpError: true;
}

export function isHttpStatusError(error: unknown): error is HttpStatusError {
  return (
    error instanceof Error &&
    (error as Partial<HttpStatusError>).httpError === true &&
    typeof (error as Partial<HttpStatusError>).statusCode === 'number'
  );
}

/** The 4xx an error stands for, or undefined: a 500, whose message the caller never sees. */
export function httpStatusOf(error: unknown): number | undefined {
  if (isHttpStatusError(error)) return error.statusCode < 500 ? error.statusCode : undefined;
  for (const [type, status] of DOMAIN_STATUSES) if (error instanceof type) return status;
  return undefined;
}

/**
 * middy: an error with a 4xx (`httpStatusOf`) is the client's fault: given its status and
 * marked `expose`, so httpErrorHandler answers with its message, which never holds a secret.
 * Anything else stays a bare 500.
 */
export function exposeStatusErrors(): MiddlewareObj {
  return {
    onError: async (request) => {
      const error = request.error as (Error & { statusCode?: number; expose?: boolean }) | null;
      const status = httpStatusOf(error);
      if (error && status !== undefined) {
        error.statusCode = status;
        error.expose = true;
      }
    },
  };
}
