import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { SourceConfig } from '#config/schema.ts';
import { authorize } from '../../functions/lib/api/authorize.ts';
import { verifySender } from '../../functions/lib/events/verify.ts';
import type { Refusal, RouteGuard } from './http-gateway.ts';
import type { Budget, RequestBudgets } from './request-budgets.ts';
import { isOwnHost, isOwnOrigin, type OwnOrigin } from './same-origin.ts';

/**
 * Who may call the local routes, checked by the gateway before a handler runs (what API
 * Gateway's authorizer and throttling do when deployed):
 *
 * - a request whose `Origin` is not the server's own is refused (403): only browsers send one,
 *   and a page of another origin must not drive the API or post webhooks from the operator's
 *   machine; the API also refuses a `Host` not its own (403: DNS rebinding). Webhooks check Host
 *   only on loopback: registries on other machines may name the server however their network
 *   does (an alias, a proxy), and their secret or signature is what proves them.
 * - whether the request proves itself (the API's bearer token; the webhook source's secret or
 *   signature) decides the budget it draws on: per source or per client when it does, a small
 *   per-client budget of its own when it does not, so an unauthenticated flood never gets a
 *   real delivery or API call answered 429. Unproven requests still reach the handler, which
 *   answers them 401 (or 404) with its own message.
 * - an authenticated API write must be JSON (415): a browser cannot send that cross-origin
 *   without a preflight.
 *
 * `/health` has no guard: it answers whoever asks, and is never limited.
 */

export interface AccessOptions {
  /** The server's own Host and Origin values (known once it listens: its port may be chosen then). */
  own(): OwnOrigin;
  /** Whether webhook deliveries must name an own Host (loopback: yes). */
  webhookHostCheck: boolean;
  apiToken: string;
  /** Whether a delivery proves its source (its secret or signature): the source's own check. */
  verifiesWebhook(event: APIGatewayProxyEventV2): Promise<boolean>;
  budgets: RequestBudgets;
  limits: { webhook: Budget; api: Budget; unauthenticated: Budget };
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const refusal = (statusCode: number, message: string, headers?: Record<string, string>): Refusal => ({
  statusCode,
  message,
  ...(headers ? { headers } : {}),
});
const tooMany = () => refusal(429, 'Too Many Requests', { 'retry-after': '1' });

export function localAccess(options: AccessOptions): { webhook: RouteGuard; api: RouteGuard } {
  const { budgets, limits } = options;

  const foreign = (event: APIGatewayProxyEventV2, checkHost: boolean): Refusal | undefined => {
    const origin = event.headers.origin;
    if (origin !== undefined && !isOwnOrigin(options.own(), origin)) {
      return refusal(403, 'requests from another origin (a web page) are refused');
    }
    if (checkHost && !isOwnHost(options.own(), event.headers.host)) {
      return refusal(403, 'the Host header does not name this server');
    }
    return undefined;
  };

  const api: RouteGuard = async (event, client) => {
    const refused = foreign(event, true);
    if (refused) return refused;
    const authenticated = hasToken(event, options.apiToken);
    const allowed = authenticated
      ? budgets.take(`api:${client}`, limits.api)
      : budgets.take(`unauthenticated:api:${client}`, limits.unauthenticated);
    if (!allowed) return tooMany();
    if (
      authenticated &&
      WRITES.has(event.requestContext.http.method) &&
      !isJson(event.headers['content-type'])
    ) {
      return refusal(415, 'the API takes writes as JSON only (Content-Type: application/json)');
    }
    return undefined;
  };

  const webhook: RouteGuard = async (event, client) => {
    const refused = foreign(event, options.webhookHostCheck);
    if (refused) return refused;
    const source = event.pathParameters?.source ?? '';
    const allowed = (await options.verifiesWebhook(event))
      ? budgets.take(`webhook:${source}`, limits.webhook)
      : budgets.take(`unauthenticated:webhook:${client}`, limits.unauthenticated);
    return allowed ? undefined : tooMany();
  };

  return { webhook, api };
}

function hasToken(event: APIGatewayProxyEventV2, token: string): boolean {
  try {
    authorize(event.headers, token);
    return true;
  } catch {
    return false;
  }
}

function isJson(contentType: string | undefined): boolean {
  const mediaType = (contentType?.split(';')[0] ?? '').trim().toLowerCase();
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Whether a delivery proves its source, by the source's own check (`verifySender`). */
export function webhookVerifier(
  source: (name: string) => Promise<SourceConfig | undefined>,
): (event: APIGatewayProxyEventV2) => Promise<boolean> {
  return async (event) => {
    try {
      const config = await source(event.pathParameters?.source ?? '');
      if (!config) return false;
      verifySender(config, {
        headers: event.headers,
        query: event.queryStringParameters ?? {},
        rawBody: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
      });
      return true;
    } catch {
      // Not proven (or the records did not answer): the handler says which.
      return false;
    }
  };
}
