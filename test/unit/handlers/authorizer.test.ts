import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from './pipeline-fixture.ts';

/**
 * The authorizer reads the token from Secrets Manager: here a local endpoint answering
 * GetSecretValue, since the read itself is the point.
 */
let server: Server;
let reads = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      reads++;
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ Name: SecretId, SecretString: 'the-right-token', VersionId: 'v1' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.API_TOKEN_SECRET = 'crossdock/api-token';
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const request = (authorization?: string) =>
  ({
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:000000000000:api/$default/GET/api/jobs',
    identitySource: authorization ? [authorization] : [],
    headers: authorization ? { Authorization: authorization } : {},
  }) as unknown as APIGatewayRequestAuthorizerEventV2;

describe('the API authorizer', () => {
  it('lets a request with the token of the secret through, and refuses others', async () => {
    const { handler } = await import('../../../functions/authorizer/handler.ts');

    expect(await handler(request('Bearer the-right-token'), lambdaContext('authorizer'))).toEqual({
      isAuthorized: true,
    });
    expect(await handler(request('Bearer a-wrong-token'), lambdaContext('authorizer'))).toEqual({
      isAuthorized: false,
    });
    expect(await handler(request(), lambdaContext('authorizer'))).toEqual({ isAuthorized: false });
    // Cached: one read of the secret for all three.
    expect(reads).toBe(1);
  });
});
