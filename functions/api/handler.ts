import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handleApiRequest, toHttpResponse } from '../lib/api/router.ts';
import { app } from '../lib/app/current.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger } from '../lib/runtime/observability.ts';

/**
 * `/api/*`: registries, sources, policies and jobs (functions/lib/api). Deployed, API Gateway's
 * Lambda authorizer has checked the bearer token before this runs; locally the token `serve`
 * uses (the config's `api.token`, else the generated one) is checked here (`settings.apiToken`).
 */
export async function serveApi(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const crossdock = await app();
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  const response = await handleApiRequest(
    crossdock.apiPorts,
    {
      method: event.requestContext?.http?.method ?? 'GET',
      path: event.rawPath,
      query: event.queryStringParameters ?? {},
      headers: event.headers ?? {},
      body,
    },
    {
      token: crossdock.settings.apiToken,
      onError: (error, request) =>
        logger.error('API request failed', { error, method: request.method, path: request.path }),
    },
  );
  return toHttpResponse(response);
}

export const handler = observed(serveApi);
