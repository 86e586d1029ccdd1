import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_SECRET, type Mirror, startMirror } from '../support/mirror.ts';
import { distributionEnvelope, postNotification } from '../support/webhook-payloads.ts';

/**
 * Requests that prove nothing (a wrong webhook secret, no API token) draw on their own budget,
 * per client: a flood of them is answered 429 while a registry's signed deliveries, API calls
 * with the token and health checks from the same address go on being served.
 */
describe('an unauthenticated flood', () => {
  let mirror: Mirror;
  const flooder = new Agent({ connections: 16 });

  beforeAll(async () => {
    mirror = await startMirror({ notifications: false });
  });
  afterAll(async () => {
    await mirror?.stop();
    await flooder.close();
  });

  it('is refused from its own budget: signed deliveries still get 202, the API with its token 200, /health 200', async () => {
    const { url, token } = mirror.crossdock;
    const status = async (path: string, init: Parameters<typeof request>[1] = {}) => {
      const response = await request(`${url}${path}`, { ...init, dispatcher: flooder });
      await response.body.dump();
      return response.statusCode;
    };
    const floodOne = () =>
      Promise.all([
        status('/webhooks/a', {
          method: 'POST',
          headers: { authorization: 'Bearer not-the-secret', 'content-type': 'application/json' },
          body: '{"events":[]}',
        }),
        status('/webhooks/a', { method: 'POST', body: '{"events":[]}' }),
        status('/api/jobs'),
      ]);

    // About 150 requests a second for 2.5 s, and meanwhile what must keep working, every 250 ms.
    const until = Date.now() + 2500;
    const flood: Promise<number[]>[] = [];
    const served: Promise<number[]>[] = [];
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await Promise.all([
      (async () => {
        while (Date.now() < until) {
          flood.push(floodOne());
          await pause(20);
        }
      })(),
      (async () => {
        while (Date.now() < until) {
          await pause(250);
          served.push(
            Promise.all([
              postNotification(`${url}/webhooks/a`, distributionEnvelope(), HOOK_SECRET).then(
                (r) => r.status,
              ),
              status('/api/jobs', { headers: { authorization: `Bearer ${token}` } }),
              status('/health'),
            ]),
          );
        }
      })(),
    ]);
    const floodStatuses = (await Promise.all(flood)).flat();
    const servedStatuses = await Promise.all(served);

    expect(servedStatuses.length).toBeGreaterThanOrEqual(5);
    expect(servedStatuses).toEqual(servedStatuses.map(() => [202, 200, 200]));
    expect(floodStatuses).toContain(429);
    expect(floodStatuses.filter((s) => s < 400)).toEqual([]);
  });
});
