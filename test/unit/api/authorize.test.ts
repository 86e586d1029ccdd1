import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../../../functions/lib/api/authorize.ts';
import { ApiUnauthorizedError } from '../../../functions/lib/api/errors.ts';
import { type ApiHarness, startApiHarness } from './harness.ts';

describe('authorize', () => {
  it('passes the right bearer token, whatever the case of the scheme', () => {
    expect(() => authorize({ authorization: 'Bearer t0ken' }, 't0ken')).not.toThrow();
    expect(() => authorize({ authorization: 'bearer t0ken' }, 't0ken')).not.toThrow();
  });

  it('refuses a missing, malformed or wrong token with a Bearer challenge', () => {
    for (const headers of [{}, { authorization: 'Basic dTpw' }, { authorization: 'Bearer t0ke' }]) {
      let thrown: unknown;
      try {
        authorize(headers, 't0ken');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ApiUnauthorizedError);
      expect((thrown as ApiUnauthorizedError).statusCode).toBe(401);
      expect((thrown as ApiUnauthorizedError).headers['www-authenticate']).toMatch(/^Bearer /);
      expect((thrown as Error).message).not.toContain('t0ke');
    }
  });
});

describe('the router with a token configured', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApiHarness();
  });
  afterAll(() => api.close());

  it('answers 401 with WWW-Authenticate without the token, also on unknown routes', async () => {
    const missing = await api.call('GET', '/api/registries', { token: 's3cret' });
    const wrong = await api.call('GET', '/api/registries', {
      token: 's3cret',
      headers: { Authorization: 'Bearer nope' },
    });
    const unknownRoute = await api.call('GET', '/api/nothing', { token: 's3cret' });

    for (const response of [missing, wrong, unknownRoute]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers?.['www-authenticate']).toMatch(/^Bearer realm="crossdock"/);
      expect(response.body.error.code).toBe('unauthorized');
    }
    expect(wrong.headers?.['www-authenticate']).toContain('error="invalid_token"');
  });

  it('serves the request with the right token, and without one when none is configured', async () => {
    const withToken = await api.call('GET', '/api/registries', {
      token: 's3cret',
      headers: { Authorization: 'Bearer s3cret' },
    });
    const open = await api.call('GET', '/api/registries');

    expect(withToken.statusCode).toBe(200);
    expect(open.statusCode).toBe(200);
  });
});
