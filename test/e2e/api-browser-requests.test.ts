import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrossdockProcess } from '../support/crossdock-process.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';

/**
 * The local API against what a web page open in the operator's browser can send: a cross-origin
 * `fetch(…, { mode: 'no-cors' })` carries an Origin, a text/plain or typeless body and no token;
 * a DNS-rebinding page reaches 127.0.0.1 under its own host name. None of it may change anything.
 */
describe('the local API and requests a web page makes', () => {
  let mirror: Mirror;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    mirror = await startMirror({ webhook: false, policy: { enabled: false } });
    ({ crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  /** What the API holds: the test reads it with the token, as the CLI does. */
  const held = async () => ({
    registries: (await crossdock.api('GET', '/api/registries')).body,
    policies: (await crossdock.api('GET', '/api/policies')).body,
    jobs: (await crossdock.api('GET', '/api/jobs')).body,
  });

  /** A request as the browser sends it for a page of `origin`: no credentials of crossdock's. */
  const fromPage = async (
    path: string,
    {
      origin = 'http://evil.example',
      headers = {},
      body,
    }: { origin?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
  ) => {
    const response = await request(`${crossdock.url}${path}`, {
      method: 'POST',
      headers: { origin, ...headers },
      ...(body === undefined ? {} : { body }),
    });
    await response.body.dump();
    return response.statusCode;
  };

  it('refuses a cross-origin page (Origin http://evil.example, text/plain or typeless body, no token) with 403 and changes nothing', async () => {
    const before = await held();

    const statuses = [
      // A registry of the page's own, with a body sent as a Blob: no Content-Type at all.
      await fromPage('/api/registries', {
        body: new TextEncoder().encode(JSON.stringify({ name: 'evil', url: 'http://evil.example:5000' })),
      }),
      // A policy copying everything to it, as text/plain (what a string body gets).
      await fromPage('/api/policies', {
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify({
          name: 'exfiltrate',
          source: { registry: 'a', project: 'team' },
          destination: { registry: 'evil' },
        }),
      }),
      // And the disabled policy switched on, which would copy the project at once.
      await fromPage('/api/policies/a-to-b/enable', {
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: '',
      }),
    ];

    expect(statuses).toEqual([403, 403, 403]);
    expect(await held()).toEqual(before);
  });

  it('refuses a page reaching it under another host name (DNS rebinding) with 403, even with the token', async () => {
    const answer = async (host: string) => {
      const response = await request(`${crossdock.url}/api/jobs`, {
        headers: { host, authorization: `Bearer ${crossdock.token}` },
      });
      await response.body.dump();
      return response.statusCode;
    };

    expect(await answer(`evil.example:${crossdock.port}`)).toBe(403);
    expect(await answer(`127.0.0.1:${crossdock.port}`)).toBe(200);
    expect(await answer(`localhost:${crossdock.port}`)).toBe(200);
  });

  it('takes a request of its own origin or of none (the CLI, curl) with the token; writes only as JSON (415 otherwise)', async () => {
    const own = await request(`${crossdock.url}/api/jobs`, {
      headers: { origin: crossdock.url, authorization: `Bearer ${crossdock.token}` },
    });
    await own.body.dump();
    const plainWrite = await request(`${crossdock.url}/api/policies/a-to-b/disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${crossdock.token}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    await plainWrite.body.dump();
    const typelessWrite = await request(`${crossdock.url}/api/policies/a-to-b/disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${crossdock.token}` },
    });
    await typelessWrite.body.dump();
    const noToken = await request(`${crossdock.url}/api/jobs`);
    await noToken.body.dump();

    expect(own.statusCode).toBe(200);
    expect([plainWrite.statusCode, typelessWrite.statusCode]).toEqual([415, 415]);
    expect(noToken.statusCode).toBe(401);
  });
});
