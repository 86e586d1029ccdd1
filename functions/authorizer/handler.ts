import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerResult } from 'aws-lambda';
import { authorize } from '../lib/api/authorize.ts';
import { observed } from '../lib/runtime/middleware.ts';
import { logger } from '../lib/runtime/observability.ts';

/**
 * The management API's Lambda authorizer (HTTP API, simple responses): `Authorization: Bearer
 * <token>` must match the token in the Secrets Manager secret `API_TOKEN_SECRET` (read through
 * Powertools Parameters, cached five minutes, so a rotated token applies soon). API Gateway
 * answers 401/403 itself when this says no.
 */
export async function authorizeApiRequest(
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerResult> {
  const secretName = process.env.API_TOKEN_SECRET;
  if (!secretName) throw new Error('API_TOKEN_SECRET is not set for the authorizer');
  const token = await getSecret<string>(secretName, { maxAge: 300 });
  if (!token) throw new Error(`secret ${secretName} holds no token`);
  try {
    authorize(lowerCaseKeys(event.headers ?? {}), token);
    return { isAuthorized: true };
  } catch (error) {
    logger.warn('API request refused', { reason: error instanceof Error ? error.message : String(error) });
    return { isAuthorized: false };
  }
}

const lowerCaseKeys = (headers: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

export const handler = observed(authorizeApiRequest);
