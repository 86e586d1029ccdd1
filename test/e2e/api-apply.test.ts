import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../support/cli.ts';
import type { CrossdockProcess } from '../support/crossdock-process.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { registryList } from '../support/serve-config.ts';
import { scratchDir } from '../support/tools.ts';

/**
 * `crossdock apply --config FILE` against a running `serve` whose API needs a bearer token:
 * created, then unchanged on the second run (secrets included, which the API never shows);
 * an invalid file is refused before anything is sent; and the token is required.
 */
describe('crossdock apply and the API token', () => {
  const TOKEN = 'api-token-7f3a9c';
  // Secrets reach the file through ${ENV}, as users write them.
  const env = {
    CROSSDOCK_API_TOKEN: '',
    MIRROR_PASSWORD: 'mirror-secret-81be',
    HOOK_TOKEN: 'hook-secret-4d20',
  };
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;
  let dir: string;

  // What serve starts with: A and B, one disabled policy, no sources.
  const registries = () => registryList({ a: a.url, b: b.url });
  const servePolicy = {
    name: 'team-to-b',
    source: { registry: 'a', project: 'team' },
    destination: { registry: 'b' },
    enabled: false,
  };

  const writeConfig = (name: string, config: Record<string, unknown>): string => {
    const file = join(dir, name);
    writeFileSync(file, stringify(config));
    return file;
  };
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    runCli([...args, '--api', crossdock.url], { env: { ...env, ...extra } });

  beforeAll(async () => {
    dir = mkdtempSync(join(scratchDir(), 'crossdock-apply-'));
    mirror = await startMirror({ webhook: false, policy: servePolicy, apiToken: TOKEN });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  it('applies a config (created), then a second run reports everything unchanged, exit 0 both times', async () => {
    const file = writeConfig('crossdock.yaml', {
      registries: [
        ...registries(),
        // A registry with a secret: the API compares it without ever showing it.
        { name: 'mirror', url: b.url, credentials: { username: 'robot', password: '${MIRROR_PASSWORD}' } },
      ],
      sources: [
        {
          name: 'a',
          registry: 'a',
          format: 'distribution',
          auth: { header: 'Authorization', value: 'Bearer ${HOOK_TOKEN}' },
        },
      ],
      policies: [
        servePolicy,
        {
          name: 'team-to-mirror',
          source: { registry: 'a', project: 'team' },
          destination: { registry: 'mirror', namespace: 'copy' },
          filters: { tags: ['v*'], excludeTags: ['*-rc*'] },
          enabled: false,
        },
      ],
    });

    const first = await cli(['apply', '--config', file, '--token', TOKEN]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('registry mirror: created');
    expect(first.stdout).toContain('source a: created');
    expect(first.stdout).toContain('policy team-to-mirror: created');
    expect(first.stdout).toContain('registry a: unchanged');
    expect(first.stdout).toContain('policy team-to-b: unchanged');
    expect(first.stdout).toMatch(/^apply: 3 created, 0 changed, 3 unchanged$/m);

    const second = await cli(['apply', '--config', file, '--token', TOKEN]);
    expect(second.code, second.stderr).toBe(0);
    const lines = second.stdout.trim().split('\n');
    expect(lines.slice(0, -1)).toEqual([
      'registry a: unchanged',
      'registry b: unchanged',
      'registry mirror: unchanged',
      'source a: unchanged',
      'policy team-to-b: unchanged',
      'policy team-to-mirror: unchanged',
    ]);
    expect(lines.at(-1)).toBe('apply: 0 created, 0 changed, 6 unchanged');

    // What the API holds is what the file says; the secret is stored and shown redacted.
    const held = await crossdock.api<{ registry: Record<string, unknown> }>('GET', '/api/registries/mirror');
    expect(held.body.registry).toMatchObject({
      url: b.url,
      credentials: { username: 'robot', password: '***' },
    });
    expect(JSON.stringify(held.body)).not.toContain(env.MIRROR_PASSWORD);
  });

  it('refuses an invalid config with exit 1 and the path of the error, sending nothing', async () => {
    const before = {
      registries: (await crossdock.api('GET', '/api/registries')).body,
      policies: (await crossdock.api('GET', '/api/policies')).body,
    };
    const file = writeConfig('invalid.yaml', {
      registries: [
        ...registries(),
        // Valid on its own: sent only if apply wrote items before validating the whole file.
        { name: 'not-sent', url: 'http://127.0.0.1:1' },
      ],
      policies: [
        {
          name: 'to-nowhere',
          source: { registry: 'a', project: 'team' },
          destination: { registry: 'no-such-registry' },
        },
      ],
    });

    const result = await cli(['apply', '--config', file, '--token', TOKEN]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('policies[0].destination.registry');
    expect(result.stdout).toBe('');
    expect((await crossdock.api('GET', '/api/registries')).body).toEqual(before.registries);
    expect((await crossdock.api('GET', '/api/policies')).body).toEqual(before.policies);
  });

  it('needs the token: without it (or with a wrong one) exit 1 and one line naming 401; with it exit 0', async () => {
    const without = await cli(['jobs', '--output', 'json']);
    expect(without.code).toBe(1);
    expect(without.stdout).toBe('');
    expect(without.stderr.trim().split('\n')).toHaveLength(1);
    expect(without.stderr).toMatch(/401/);
    expect(without.stderr).toMatch(/token/i);

    const wrong = await cli(['jobs', '--output', 'json', '--token', 'not-the-token']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/401/);
    expect(wrong.stderr).not.toContain('not-the-token');

    // The token from the environment works as well as --token.
    const withToken = await cli(['jobs', '--output', 'json', '--token', TOKEN]);
    expect(withToken.code, withToken.stderr).toBe(0);
    expect(JSON.parse(withToken.stdout)).toEqual([]);
    const fromEnv = await cli(['jobs', '--output', 'json'], { CROSSDOCK_API_TOKEN: TOKEN });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toEqual([]);

    // Apply too: nothing is written without the token.
    const file = writeConfig('no-token.yaml', {
      registries: [...registries(), { name: 'late', url: 'http://127.0.0.1:1' }],
    });
    const apply = await cli(['apply', '--config', file]);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toMatch(/401/);
    const held = await crossdock.api<{ registries: { name: string }[] }>('GET', '/api/registries');
    expect(held.body.registries.map((r) => r.name)).not.toContain('late');
  });
});
