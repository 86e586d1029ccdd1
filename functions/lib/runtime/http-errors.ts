import type { MiddlewareObj } from '@middy/core';

/**
 * Errors that carry a 4xx `statusCode` (the webhook's and the API's typed errors) are the
 * client's fault: marked `expose` so httpErrorHandler answers with their message, which never
 * holds a secret. Anything else stays a bare 500.
 */
export function exposeStatusErrors(): MiddlewareObj {
  return {
    onError: async (request) => {
      const error = request.error as (Error & { statusCode?: number; expose?: boolean }) | null;
      if (error && typeof error.statusCode === 'number' && error.statusCode < 500) error.expose = true;
    },
  };
}
