import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { app } from '../lib/app/current.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger } from '../lib/runtime/observability.ts';

/** GET /health: 200 when the records answer, 503 (with the reason) when they do not. */
export async function checkHealth(): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    await (await app()).config.listPolicies();
    return json(200, { status: 'ok' });
  } catch (error) {
    logger.error('records unreachable', { error });
    return json(503, { status: 'unavailable', reason: error instanceof Error ? error.name : 'Error' });
  }
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export const handler = observed(checkHealth);
