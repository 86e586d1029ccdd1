import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../../functions/lib/registry/errors.ts';
import { RegistryPause } from '../../../functions/lib/registry/rate-limiter.ts';
import { RegistryTransport } from '../../../functions/lib/registry/transport.ts';

/**
 * A registry's own word on its limits — Retry-After, Docker Hub's RateLimit headers — holds
 * every request of the client, not only the one that was answered. The server here is scripted:
 * the point is a registry that rate-limits, which a test docker-registry does not do.
 */

let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (running) await new Promise((resolve) => running.close(resolve));
});

/** A registry whose answer to the n-th request (from 0) is `answer(n)`; it logs when each arrived. */
async function scriptedRegistry(answer: (n: number) => { status: number; headers?: Record<string, string> }) {
  const arrivals: number[] = [];
  server = createServer((request, response) => {
    const n = arrivals.push(Date.now()) - 1;
    const { status, headers = {} } = answer(n);
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(status === 200 ? '{}' : '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
    request.resume();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, arrivals };
}

const get = (transport: RegistryTransport, tag: string) =>
  transport
    .send({
      method: 'GET',
      path: `/v2/team/app/manifests/${tag}`,
      scopes: [],
      expect: [200],
      what: `manifest ${tag}`,
    })
    .then((response) => response.body.dump());

describe('RegistryPause', () => {
  it('pauses for a Retry-After on 429 and 503, and ignores it on other statuses', () => {
    const pause = new RegistryPause();
    pause.observe(200, { 'retry-after': '30' }, 0);
    expect(pause.remainingMs(0)).toBe(0);
    pause.observe(429, { 'retry-after': '2' }, 0);
    expect(pause.remainingMs(500)).toBe(1500);
    pause.observe(503, { 'retry-after': '5' }, 1000);
    expect(pause.remainingMs(1000)).toBe(5000);
  });

  it('pauses for one request’s share of Docker Hub’s window when the quota is used up', () => {
    const pause = new RegistryPause();
    pause.observe(200, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '1;w=21600' }, 0);
    expect(pause.remainingMs(0)).toBe(0);
    pause.observe(200, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' }, 0);
    expect(pause.remainingMs(0)).toBe(216_000);
  });
});

describe('the transport under a registry’s limits', () => {
  it('holds every request back for a Retry-After the registry gave to one of them', async () => {
    const registry = await scriptedRegistry((n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const transport = new RegistryTransport({ url: registry.url });

    const first = get(transport, 'first'); // 429, waits a second, then 200
    while (registry.arrivals.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the 429 has reached the client
    await Promise.all([first, ...['a', 'b', 'c'].map((tag) => get(transport, tag))]);
    const pausedFrom = registry.arrivals[0] as number;
    await transport.close();

    expect(registry.arrivals).toHaveLength(5);
    for (const at of registry.arrivals.slice(1)) expect(at - pausedFrom).toBeGreaterThanOrEqual(950);
  });

  it('sends nothing while Docker Hub’s quota is used up, and says how long to wait', async () => {
    const registry = await scriptedRegistry(() => ({
      status: 200,
      headers: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' },
    }));
    const transport = new RegistryTransport({ url: registry.url });
    await get(transport, 'last-one');

    const refused = await get(transport, 'next').catch((error: unknown) => error);
    await transport.close();

    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBeGreaterThan(200_000);
    expect(registry.arrivals).toHaveLength(1);
  });
});
