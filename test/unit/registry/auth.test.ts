import { describe, expect, it } from 'vitest';
import { Authenticator, parseChallenges, repositoryScope } from '#registry/auth.ts';
import { RegistryUnauthorizedError } from '#registry/errors.ts';

describe('parseChallenges', () => {
  it('reads a Bearer challenge with quoted parameters', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull',
        },
      },
    ]);
  });

  it('reads a Basic challenge and several challenges in one header', () => {
    expect(parseChallenges(['Basic realm="Registry Realm"', 'Bearer realm="r"'])).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
      { scheme: 'bearer', params: { realm: 'r' } },
    ]);
  });
});

describe('Authenticator', () => {
  const scopes = [repositoryScope('team-a/app', 'pull')];

  it('sends nothing until a challenge says how to authenticate', async () => {
    const auth = new Authenticator({
      registry: 'r',
      fetchToken: async () => ({ status: 500, json: undefined }),
    });
    expect(await auth.authorization(scopes)).toBeUndefined();
  });

  it('answers a Basic challenge with the credentials, once', async () => {
    const auth = new Authenticator({
      registry: 'r',
      credentials: { username: 'u', password: 'p:w' },
      fetchToken: async () => ({ status: 500, json: undefined }),
    });
    expect(await auth.challenged('Basic realm="x"', scopes, false)).toBe(true);
    expect(await auth.authorization(scopes)).toBe(`Basic ${Buffer.from('u:p:w').toString('base64')}`);
    expect(await auth.challenged('Basic realm="x"', scopes, true)).toBe(false);
  });

  it('fetches a token for the scopes with the credentials, and caches it per scope', async () => {
    const asked: URL[] = [];
    const auth = new Authenticator({
      registry: 'r',
      credentials: { username: 'u', password: 'p' },
      fetchToken: async (url, headers) => {
        asked.push(url);
        expect(headers.authorization).toMatch(/^Basic /);
        return { status: 200, json: { token: `t${asked.length}`, expires_in: 300 } };
      },
    });
    await auth.challenged('Bearer realm="http://127.0.0.1:1/token",service="svc"', scopes, false);
    expect(await auth.authorization(scopes)).toBe('Bearer t1');
    expect(await auth.authorization(scopes)).toBe('Bearer t1');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.searchParams.get('service')).toBe('svc');
    expect(asked[0]?.searchParams.getAll('scope')).toEqual(['repository:team-a/app:pull']);
    expect(await auth.authorization([repositoryScope('team-a/app', 'pull', 'push')])).toBe('Bearer t2');
  });

  it('fetches a new token when the registry refuses the cached one', async () => {
    let issued = 0;
    const auth = new Authenticator({
      registry: 'r',
      fetchToken: async () => ({ status: 200, json: { access_token: `t${++issued}` } }),
    });
    await auth.challenged('Bearer realm="http://127.0.0.1:1/token"', scopes, false);
    expect(await auth.authorization(scopes)).toBe('Bearer t1');
    await auth.challenged('Bearer realm="http://127.0.0.1:1/token"', scopes, true);
    expect(await auth.authorization(scopes)).toBe('Bearer t2');
  });

  it('turns a refusal by the token service into RegistryUnauthorizedError naming the user', async () => {
    const auth = new Authenticator({
      registry: 'hub-a',
      credentials: { username: 'alice', password: 'wrong' },
      fetchToken: async () => ({ status: 401, json: undefined }),
    });
    const refusal = auth.challenged('Bearer realm="http://127.0.0.1:1/token"', scopes, false);
    await expect(refusal).rejects.toThrow(RegistryUnauthorizedError);
    await expect(refusal).rejects.toThrow(/hub-a.*"alice"/);
  });
});
