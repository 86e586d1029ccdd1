import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Gateway, type RouteGuard, startGateway } from '../../../infra/local/http-gateway.ts';
import { selfSignedCertificate } from '../../support/certificates.ts';

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function start(
  seen: APIGatewayProxyEventV2[],
  options: { guard?: RouteGuard; tls?: { cert: string; key: string } } = {},
) {
  gateway = await startGateway({
    port: 0,
    maxBodyBytes: 64,
    ...(options.tls ? { tls: options.tls } : {}),
    routes: [
      {
        method: 'POST',
        path: '/webhooks/{source}',
        functionName: 'webhook',
        ...(options.guard ? { guard: options.guard } : {}),
        handler: async (event) => {
          seen.push(event);
          return { statusCode: 202, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
        },
      },
      {
        method: 'ANY',
        path: '/api/{proxy+}',
        functionName: 'api',
        handler: async (event) => {
          seen.push(event);
          return { statusCode: 200, body: event.rawPath };
        },
      },
    ],
  });
  return gateway;
}

describe('the local HTTP gateway', () => {
  it('hands the handler the v2 event API Gateway builds, with the raw body intact', async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    const { url } = await start(seen);
    const body = '{"a": "é"}';

    const response = await request(`${url}/webhooks/hub-a?token=x&token=y`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': 'sha256=ab' },
      body,
    });

    expect(response.statusCode).toBe(202);
    expect(await response.body.json()).toEqual({ ok: true });
    const event = seen[0] as APIGatewayProxyEventV2;
    expect(event.routeKey).toBe('POST /webhooks/{source}');
    expect(event.pathParameters).toEqual({ source: 'hub-a' });
    expect(event.queryStringParameters).toEqual({ token: 'x,y' });
    expect(event.headers['x-hub-signature-256']).toBe('sha256=ab');
    expect(event.requestContext.http.method).toBe('POST');
    expect(Buffer.from(event.body ?? '', 'base64').toString('utf8')).toBe(body);
    expect(event.isBase64Encoded).toBe(true);
  });

  it('routes any method to a greedy path', async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    const { url } = await start(seen);

    const response = await request(`${url}/api/policies/a/enable`, { method: 'PUT' });

    expect(await response.body.text()).toBe('/api/policies/a/enable');
    expect(seen[0]?.pathParameters).toEqual({ proxy: 'policies/a/enable' });
  });

  it('answers 404 for an unknown path and 405 for a known path with another method', async () => {
    const { url } = await start([]);

    const unknown = await request(`${url}/nowhere`);
    const wrongMethod = await request(`${url}/webhooks/hub-a`);

    expect(unknown.statusCode).toBe(404);
    expect(wrongMethod.statusCode).toBe(405);
    await Promise.all([unknown.body.dump(), wrongMethod.body.dump()]);
  });

  it('answers 400 for a path that is not valid percent-encoding', async () => {
    const { url } = await start([]);

    const response = await request(`${url}/webhooks/%E0%A4%A`, { method: 'POST', body: '{}' });

    expect(response.statusCode).toBe(400);
    await response.body.dump();
  });

  it('answers 413 for a body over the limit without calling the handler', async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    const { url } = await start(seen);

    const response = await request(`${url}/webhooks/hub-a`, { method: 'POST', body: 'x'.repeat(65) });

    expect(response.statusCode).toBe(413);
    await response.body.dump();
    expect(seen).toHaveLength(0);
  });

  it("answers a route guard's refusal without calling the handler; the guard sees the event and the client", async () => {
    const seen: APIGatewayProxyEventV2[] = [];
    const guarded: { source?: string; client: string }[] = [];
    const { url } = await start(seen, {
      guard: async (event, client) => {
        guarded.push({ source: event.pathParameters?.source as string, client });
        return event.headers['x-let-in'] === 'yes'
          ? undefined
          : { statusCode: 429, message: 'Too Many Requests', headers: { 'retry-after': '1' } };
      },
    });

    const refused = await request(`${url}/webhooks/hub-a`, { method: 'POST', body: '{}' });
    const admitted = await request(`${url}/webhooks/hub-a`, {
      method: 'POST',
      headers: { 'x-let-in': 'yes' },
      body: '{}',
    });

    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(await refused.body.json()).toEqual({ message: 'Too Many Requests' });
    expect(admitted.statusCode).toBe(202);
    await admitted.body.dump();
    expect(seen).toHaveLength(1);
    expect(guarded).toEqual([
      { source: 'hub-a', client: '127.0.0.1' },
      { source: 'hub-a', client: '127.0.0.1' },
    ]);
  });

  it('refuses a port in use with the flag that moves it, not only the system error', async () => {
    await start([]);
    const taken = Number(new URL((gateway as Gateway).url).port);

    const second = startGateway({ port: taken, maxBodyBytes: 64, routes: [] });

    await expect(second).rejects.toThrow(
      `cannot listen: 127.0.0.1:${taken} is in use (another crossdock serve, or another program): stop it, or give another --port`,
    );
    await expect(second).rejects.toMatchObject({
      name: 'ListenSettingsError',
      cause: { code: 'EADDRINUSE' },
    });
  });

  it('serves HTTPS with a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
    try {
      const files = selfSignedCertificate(dir, '127.0.0.1', '127.0.0.1');
      const cert = readFileSync(files.certFile, 'utf8');
      const { url } = await start([], { tls: { cert, key: readFileSync(files.keyFile, 'utf8') } });
      const agent = new Agent({ connect: { ca: cert } });

      const response = await request(`${url}/api/jobs`, { dispatcher: agent });

      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await response.body.text()).toBe('/api/jobs');
      await agent.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
