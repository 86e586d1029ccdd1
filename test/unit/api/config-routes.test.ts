import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApiHarness, policy, registries, startApiHarness } from './harness.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api.close());

async function clearConfig(): Promise<void> {
  for (const p of await api.config.listPolicies()) await api.config.deletePolicy(p.name);
  for (const s of await api.config.listSources()) await api.config.deleteSource(s.name);
  for (const r of await api.config.listRegistries()) await api.config.deleteRegistry(r.name);
}

beforeEach(clearConfig);

const SECRET = registries.hubA.credentials.password;

describe('registries', () => {
  it('creates a registry (201, Location) and answers it with the password redacted', async () => {
    const created = await api.call('POST', '/api/registries', { body: registries.hubA });

    expect(created.statusCode).toBe(201);
    expect(created.headers?.location).toBe('/api/registries/hub-a');
    expect(created.body).toEqual({
      outcome: 'created',
      registry: {
        name: 'hub-a',
        url: 'http://127.0.0.1:5001',
        kind: 'distribution',
        insecure: false,
        credentials: { username: 'alice', password: '***' },
      },
    });
    // The store keeps the real password; no answer carries it.
    expect((await api.config.getRegistry('hub-a'))?.credentials?.password).toBe(SECRET);
    const list = await api.call('GET', '/api/registries');
    const one = await api.call('GET', '/api/registries/hub-a');
    expect(list.body.registries).toEqual([created.body.registry]);
    expect(one.body).toEqual({ registry: created.body.registry });
    expect(JSON.stringify([created.body, list.body, one.body])).not.toContain(SECRET);
  });

  it('PUT answers unchanged for the same body, updated for a change, created for a new name', async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });

    const same = await api.call('PUT', '/api/registries/hub-a', { body: registries.hubA });
    const changed = await api.call('PUT', '/api/registries/hub-a', {
      body: { ...registries.hubA, rateLimit: { requestsPerSecond: 5 } },
    });
    const created = await api.call('PUT', '/api/registries/dc-b', { body: { url: registries.dcB.url } });

    expect([same.statusCode, same.body.outcome]).toEqual([200, 'unchanged']);
    expect([changed.statusCode, changed.body.outcome]).toEqual([200, 'updated']);
    expect(changed.body.registry.rateLimit).toEqual({ requestsPerSecond: 5 });
    expect([created.statusCode, created.body.outcome, created.body.registry.name]).toEqual([
      201,
      'created',
      'dc-b',
    ]);
  });

  it('a changed password counts as a change; "***" written back keeps the stored password', async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });

    const read = (await api.call('GET', '/api/registries/hub-a')).body.registry;
    const writtenBack = await api.call('PUT', '/api/registries/hub-a', { body: read });
    const newPassword = await api.call('PUT', '/api/registries/hub-a', {
      body: { ...registries.hubA, credentials: { username: 'alice', password: 'rotated' } },
    });

    expect(writtenBack.body.outcome).toBe('unchanged');
    expect(newPassword.body.outcome).toBe('updated');
    expect((await api.config.getRegistry('hub-a'))?.credentials?.password).toBe('rotated');
  });

  it('keeps the stored password for "***" only while url and username are unchanged (400 otherwise)', async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });
    const read = (await api.call('GET', '/api/registries/hub-a')).body.registry;

    const sameOrigin = await api.call('PUT', '/api/registries/hub-a', {
      body: { ...read, url: 'http://127.0.0.1:5001/' },
    });
    const otherHost = await api.call('PUT', '/api/registries/hub-a', {
      body: { ...read, url: 'https://attacker.example' },
    });
    const otherUser = await api.call('PUT', '/api/registries/hub-a', {
      body: { ...read, credentials: { username: 'mallory', password: '***' } },
    });
    const tlsOff = await api.call('PUT', '/api/registries/hub-a', { body: { ...read, insecure: true } });

    expect(sameOrigin.body.outcome).toBe('unchanged');
    for (const refused of [otherHost, otherUser, tlsOff]) {
      expect(refused.statusCode).toBe(400);
      expect(refused.body.error.issues).toEqual([
        {
          path: 'credentials.password',
          message:
            'is "***", but the stored password is kept only for the same url, username and TLS settings (url, username, insecure, caFile): give the password again',
        },
      ]);
      expect(JSON.stringify(refused.body)).not.toContain(SECRET);
    }
    expect(await api.config.getRegistry('hub-a')).toMatchObject({
      url: 'http://127.0.0.1:5001',
      credentials: { username: 'alice', password: SECRET },
    });
  });

  it('accepts a new url or username together with the password given again', async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });

    const moved = await api.call('PUT', '/api/registries/hub-a', {
      body: {
        ...registries.hubA,
        url: 'https://hub-a.example',
        credentials: { username: 'bob', password: 'new' },
      },
    });

    expect([moved.statusCode, moved.body.outcome]).toEqual([200, 'updated']);
    expect((await api.config.getRegistry('hub-a'))?.credentials).toEqual({
      username: 'bob',
      password: 'new',
    });
  });

  it('refuses "***" as a password when there is no stored one to keep', async () => {
    const response = await api.call('POST', '/api/registries', {
      body: { ...registries.dcB, credentials: { username: 'bob', password: '***' } },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['credentials.password']);
  });

  it('refuses a second POST of a name (409) and a PUT whose body names another item (400, path name)', async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });

    const again = await api.call('POST', '/api/registries', { body: registries.hubA });
    const renamed = await api.call('PUT', '/api/registries/hub-a', {
      body: { ...registries.hubA, name: 'other' },
    });

    expect(again.statusCode).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'conflict' });
    expect(again.body.error.message).toContain('hub-a');
    expect(renamed.statusCode).toBe(400);
    expect(renamed.body.error.issues).toEqual([
      { path: 'name', message: 'must be "hub-a", the name in the path (or left out)' },
    ]);
  });

  it('answers 400 naming the path of every error, and never the secret it was given', async () => {
    const response = await api.call('POST', '/api/registries', {
      body: {
        name: 'hub-a',
        url: `ftp://alice:${SECRET}@example.com/path`,
        credentials: { username: 'alice', password: SECRET },
        colour: 'blue',
        rateLimit: { requestsPerSecond: 'fast' },
      },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error.code).toBe('bad_request');
    const paths = response.body.error.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['url', 'colour', 'rateLimit.requestsPerSecond']));
    expect(response.body.error.message).toMatch(/^invalid registry: .*url: .*colour: unknown key/);
    expect(JSON.stringify(response.body)).not.toContain(SECRET);
    expect(await api.config.getRegistry('hub-a')).toBeUndefined();
  });

  it('answers 404 for an unknown name and 409 when deleting a registry that a policy or source uses', async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });
    await api.call('POST', '/api/registries', { body: registries.dcB });
    await api.call('POST', '/api/policies', { body: { ...policy, enabled: false } });

    const missing = await api.call('GET', '/api/registries/nope');
    const deleteMissing = await api.call('DELETE', '/api/registries/nope');
    const inUse = await api.call('DELETE', '/api/registries/dc-b');

    expect(missing.statusCode).toBe(404);
    expect(missing.body.error).toEqual({ code: 'not_found', message: 'no registry named "nope"' });
    expect(deleteMissing.statusCode).toBe(404);
    expect(inUse.statusCode).toBe(409);
    expect(inUse.body.error.message).toContain('policy team-a-to-dc-b');
    expect(await api.config.getRegistry('dc-b')).toBeDefined();

    await api.call('DELETE', '/api/policies/team-a-to-dc-b');
    const deleted = await api.call('DELETE', '/api/registries/dc-b');
    expect([deleted.statusCode, deleted.body.deleted]).toEqual([200, 'dc-b']);
    expect((await api.call('GET', '/api/registries/dc-b')).statusCode).toBe(404);
  });
});

describe('sources', () => {
  beforeEach(async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });
  });

  it('redacts header values and HMAC secrets in every answer', async () => {
    const header = await api.call('POST', '/api/sources', {
      body: {
        name: 'hub-a',
        registry: 'hub-a',
        format: 'distribution',
        auth: { header: 'Authorization', value: 'Bearer webhook-s3cret' },
      },
    });
    const hmac = await api.call('POST', '/api/sources', {
      body: { name: 'gh', registry: 'hub-a', format: 'github', auth: { hmacSecret: 'hmac-s3cret' } },
    });
    const list = await api.call('GET', '/api/sources');

    expect(header.body.source.auth).toEqual({ header: 'Authorization', value: '***' });
    expect(hmac.body.source.auth).toEqual({ hmacSecret: '***' });
    expect(list.body.sources.map((s: { auth: unknown }) => s.auth)).toEqual([
      { hmacSecret: '***' },
      { header: 'Authorization', value: '***' },
    ]);
    expect(JSON.stringify([header.body, hmac.body, list.body])).not.toMatch(/s3cret/);
    expect((await api.config.getSource('gh'))?.auth).toEqual({ hmacSecret: 'hmac-s3cret' });
  });

  it('keeps a stored source secret for "***" only while its registry and format are unchanged', async () => {
    await api.call('POST', '/api/registries', { body: registries.dcB });
    await api.call('POST', '/api/sources', {
      body: { name: 'gh', registry: 'hub-a', format: 'github', auth: { hmacSecret: 'hmac-s3cret' } },
    });
    await api.call('POST', '/api/sources', {
      body: {
        name: 'hub-a',
        registry: 'hub-a',
        format: 'distribution',
        auth: { header: 'Authorization', value: 'Bearer webhook-s3cret' },
      },
    });
    const gh = (await api.call('GET', '/api/sources/gh')).body.source;
    const hub = (await api.call('GET', '/api/sources/hub-a')).body.source;

    const writtenBack = await api.call('PUT', '/api/sources/gh', { body: gh });
    const ghElsewhere = await api.call('PUT', '/api/sources/gh', { body: { ...gh, registry: 'dc-b' } });
    const hubElsewhere = await api.call('PUT', '/api/sources/hub-a', { body: { ...hub, registry: 'dc-b' } });
    const hubOtherFormat = await api.call('PUT', '/api/sources/hub-a', {
      body: { ...hub, format: 'harbor' },
    });

    expect(writtenBack.body.outcome).toBe('unchanged');
    const refusal = (path: string) => [
      {
        path,
        message:
          'is "***", but the stored secret is kept only for the same registry and format: give the secret again',
      },
    ];
    expect(ghElsewhere.statusCode).toBe(400);
    expect(ghElsewhere.body.error.issues).toEqual(refusal('auth.hmacSecret'));
    expect([hubElsewhere.statusCode, hubOtherFormat.statusCode]).toEqual([400, 400]);
    expect(hubElsewhere.body.error.issues).toEqual(refusal('auth.value'));
    expect(hubOtherFormat.body.error.issues).toEqual(refusal('auth.value'));
    expect(JSON.stringify([ghElsewhere.body, hubElsewhere.body, hubOtherFormat.body])).not.toMatch(/s3cret/);
    expect((await api.config.getSource('gh'))?.registry).toBe('hub-a');
    expect((await api.config.getSource('hub-a'))?.format).toBe('distribution');
  });

  it('refuses a source naming a registry that does not exist, at the path registry', async () => {
    const response = await api.call('PUT', '/api/sources/x', {
      body: { registry: 'nowhere', format: 'distribution', auth: { query: 'token', value: 'q-s3cret' } },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error.issues).toEqual([
      { path: 'registry', message: 'unknown registry "nowhere" (declared: hub-a)' },
    ]);
    expect(JSON.stringify(response.body)).not.toContain('q-s3cret');
  });
});

describe('policies (validation)', () => {
  beforeEach(async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });
    await api.call('POST', '/api/registries', { body: registries.dcB });
  });

  it('refuses a policy that would replicate into its own source, and bad globs, by path', async () => {
    const response = await api.call('POST', '/api/policies', {
      body: {
        name: 'loop',
        source: { registry: 'hub-a', project: 'team-a' },
        destination: { registry: 'hub-a' },
        filters: { tags: ['a/b'] },
      },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error.issues).toEqual(
      expect.arrayContaining([
        { path: 'filters.tags[0]', message: 'a tag never contains "/"' },
        { path: 'destination', message: 'is the source itself: set a namespace or another registry' },
      ]),
    );
  });
});

describe('requests', () => {
  it('answers 404 for an unknown route and 405 (with Allow) for a known route with another method', async () => {
    const unknown = await api.call('GET', '/api/widgets');
    const wrong = await api.call('DELETE', '/api/jobs');

    expect(unknown.statusCode).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers?.allow).toBe('GET');
    expect(wrong.body.error.code).toBe('method_not_allowed');
  });

  it('answers 400 for malformed JSON without quoting the body, 415 for another type, 413 over 1 MiB', async () => {
    const malformed = await api.call('POST', '/api/registries', { rawBody: `{"password": "${SECRET}"` });
    const wrongType = await api.call('POST', '/api/registries', {
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const tooLarge = await api.call('POST', '/api/registries', { rawBody: `"${'x'.repeat(1024 * 1024)}"` });
    const empty = await api.call('POST', '/api/registries', {});

    expect(malformed.statusCode).toBe(400);
    expect(malformed.body.error.message).toBe('the body is not valid JSON');
    expect(JSON.stringify(malformed.body)).not.toContain(SECRET);
    expect(wrongType.statusCode).toBe(415);
    expect(tooLarge.statusCode).toBe(413);
    expect([empty.statusCode, empty.body.error.message]).toEqual([400, 'a JSON body is required']);
  });

  it('accepts a trailing slash and percent-encoded names', async () => {
    await api.call('POST', '/api/registries', { body: registries.hubA });

    expect((await api.call('GET', '/api/registries/')).statusCode).toBe(200);
    expect((await api.call('GET', '/api/registries/hub%2Da')).body.registry.name).toBe('hub-a');
  });
});
