import { hostname } from 'node:os';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { RequestBudgets } from '../../../infra/local/request-budgets.ts';
import { localAccess } from '../../../infra/local/route-access.ts';
import { ownOrigin } from '../../../infra/local/same-origin.ts';

const TOKEN = 'the-api-token';
const CLIENT = '127.0.0.1';

/** The part of a v2 event the guards read. */
function event(
  method: string,
  headers: Record<string, string>,
  pathParameters?: Record<string, string>,
): APIGatewayProxyEventV2 {
  return {
    headers: { host: '127.0.0.1:8080', ...headers },
    requestContext: { http: { method } },
    ...(pathParameters ? { pathParameters } : {}),
  } as unknown as APIGatewayProxyEventV2;
}

function access(options: { webhookHostCheck?: boolean; host?: string } = {}) {
  return localAccess({
    own: () => ownOrigin({ host: options.host ?? '127.0.0.1', port: 8080, scheme: 'http' }),
    webhookHostCheck: options.webhookHostCheck ?? true,
    apiToken: TOKEN,
    // The test's sources: a delivery proves itself with `x-secret: right`.
    verifiesWebhook: async (e) => e.headers['x-secret'] === 'right',
    budgets: new RequestBudgets(() => 0),
    limits: {
      webhook: { rate: 1, burst: 5 },
      api: { rate: 1, burst: 5 },
      unauthenticated: { rate: 1, burst: 2 },
    },
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };
const statusOf = async (refusal: Promise<{ statusCode: number } | undefined>) => (await refusal)?.statusCode;

describe('who may call the local routes', () => {
  it("refuses a request whose Origin is not the server's own (403), API and webhooks alike; own or none passes", async () => {
    const { api, webhook } = access();

    const answers = await Promise.all([
      statusOf(api(event('POST', { origin: 'http://evil.example', ...json }), CLIENT)),
      statusOf(
        webhook(
          event('POST', { origin: 'http://evil.example', 'x-secret': 'right' }, { source: 'a' }),
          CLIENT,
        ),
      ),
      statusOf(api(event('GET', { origin: 'null', ...bearer }), CLIENT)),
      statusOf(api(event('GET', { origin: 'https://127.0.0.1:8080', ...bearer }), CLIENT)),
      statusOf(api(event('GET', { origin: 'http://localhost:8080', ...bearer }), CLIENT)),
      statusOf(api(event('GET', bearer), CLIENT)),
    ]);

    expect(answers).toEqual([403, 403, 403, 403, undefined, undefined]);
  });

  it('refuses an API request naming another Host (403); webhooks check Host only when told (loopback)', async () => {
    const onLoopback = access();
    const offLoopback = access({ webhookHostCheck: false, host: '0.0.0.0' });
    const rebound = { host: 'evil.example:8080' };

    const answers = await Promise.all([
      statusOf(onLoopback.api(event('GET', { ...rebound, ...bearer }), CLIENT)),
      statusOf(
        onLoopback.webhook(event('POST', { ...rebound, 'x-secret': 'right' }, { source: 'a' }), CLIENT),
      ),
      statusOf(offLoopback.api(event('GET', { ...rebound, ...bearer }), CLIENT)),
      statusOf(
        offLoopback.webhook(event('POST', { ...rebound, 'x-secret': 'right' }, { source: 'a' }), CLIENT),
      ),
      statusOf(offLoopback.api(event('GET', { host: `${hostname()}:8080`, ...bearer }), CLIENT)),
    ]);

    expect(answers).toEqual([403, 403, 403, undefined, undefined]);
  });

  it('draws unauthenticated API calls from their own budget: once it is spent they get 429, calls with the token go on', async () => {
    const { api } = access();

    const unauthenticated = [];
    for (let i = 0; i < 3; i++) unauthenticated.push(await statusOf(api(event('GET', {}), CLIENT)));
    const withToken = await statusOf(api(event('GET', bearer), CLIENT));

    // Within its budget an unauthenticated call reaches the handler, which answers it 401.
    expect(unauthenticated).toEqual([undefined, undefined, 429]);
    expect(withToken).toBeUndefined();
  });

  it('draws unproven deliveries from their own budget: once it is spent they get 429, proven ones go on', async () => {
    const { webhook } = access();
    const delivery = (secret: string) => event('POST', { 'x-secret': secret }, { source: 'a' });

    const unproven = [];
    for (let i = 0; i < 3; i++) unproven.push(await statusOf(webhook(delivery('wrong'), CLIENT)));
    const proven = [];
    for (let i = 0; i < 5; i++) proven.push(await statusOf(webhook(delivery('right'), CLIENT)));
    const overSourceBudget = await statusOf(webhook(delivery('right'), CLIENT));

    expect(unproven).toEqual([undefined, undefined, 429]);
    expect(proven).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(overSourceBudget).toBe(429);
  });

  it('takes API writes with the token as JSON only (415); reads need no type', async () => {
    const { api } = access();

    const answers = await Promise.all([
      statusOf(api(event('POST', { ...bearer, 'content-type': 'text/plain;charset=UTF-8' }), CLIENT)),
      statusOf(api(event('PUT', bearer), CLIENT)),
      statusOf(
        api(event('DELETE', { ...bearer, 'content-type': 'application/x-www-form-urlencoded' }), CLIENT),
      ),
      statusOf(api(event('POST', { ...bearer, 'content-type': 'application/json; charset=utf-8' }), CLIENT)),
      statusOf(api(event('GET', bearer), CLIENT)),
    ]);

    expect(answers).toEqual([415, 415, 415, undefined, undefined]);
  });
});
