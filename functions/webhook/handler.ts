import { MetricUnit } from '@aws-lambda-powertools/metrics';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { exposeStatusErrors } from '../lib/runtime/http-errors.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger, metrics } from '../lib/runtime/observability.ts';
import { acceptDelivery } from '../lib/webhook/accept-delivery.ts';

/**
 * POST /webhooks/{source}: a registry's notification → jobs on the queue. Answers 202 with
 * `{accepted, ignored, jobs}`; a refused delivery gets its status and one-line reason.
 */
export async function acceptWebhook(
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const source = event.pathParameters?.source ?? '';
  const rawBody = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  const result = await acceptDelivery((await app()).webhookPorts, {
    source,
    headers: lowerCaseKeys(event.headers ?? {}),
    query: event.queryStringParameters ?? {},
    rawBody,
  });
  metrics.addMetric('EventsAccepted', MetricUnit.Count, result.accepted);
  metrics.addMetric('EventsIgnored', MetricUnit.Count, result.ignored);
  logger.info('delivery accepted', {
    source,
    accepted: result.accepted,
    ignored: result.ignored,
    jobs: result.jobs,
  });
  return {
    statusCode: 202,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(result),
  };
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

export const handler = observed(acceptWebhook)
  .use(exposeStatusErrors())
  .use(httpErrorHandler({ logger: (error) => logger.warn('delivery refused', { error }) }));
