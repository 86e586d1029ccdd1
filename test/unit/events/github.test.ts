import { describe, expect, it } from 'vitest';
import { MalformedPayloadError } from '../../../functions/lib/events/errors.ts';
import { parseEvents } from '../../../functions/lib/events/normalize.ts';
import { DIGEST_A } from './fixtures.ts';

/** GitHub's registry_package event for a container version, trimmed to what crossdock reads and a little more. */
const registryPackage = (
  overrides: {
    action?: string;
    tag?: string | null;
    packageType?: string;
    key?: 'registry_package' | 'package';
  } = {},
) => ({
  action: overrides.action ?? 'published',
  [overrides.key ?? 'registry_package']: {
    id: 1,
    name: 'App',
    namespace: 'Octo-Org',
    ecosystem: 'CONTAINER',
    package_type: overrides.packageType ?? 'CONTAINER',
    html_url: 'https://github.com/orgs/Octo-Org/packages/container/package/App',
    package_version: {
      id: 2,
      version: DIGEST_A,
      name: DIGEST_A,
      container_metadata: {
        tag:
          overrides.tag === null
            ? { name: '', digest: DIGEST_A }
            : { name: overrides.tag ?? 'v1', digest: DIGEST_A },
        labels: {},
        manifest: {},
      },
      package_url: 'ghcr.io/octo-org/app:v1',
    },
    registry: { url: 'https://ghcr.io/octo-org', vendor: 'GitHub Inc', type: 'docker' },
  },
  repository: { full_name: 'Octo-Org/app' },
  sender: { login: 'octocat' },
});

const parse = (payload: unknown, headers: Record<string, string> = {}) =>
  parseEvents('github', payload, { registry: 'ghcr', headers });

describe('GitHub Packages webhooks (ghcr.io)', () => {
  it('turns a published container version into a push of <namespace>/<name> in lower case, with its tag and digest', () => {
    const result = parse(registryPackage(), { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' });

    expect(result).toEqual({
      events: [
        {
          id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          registry: 'ghcr',
          repository: 'octo-org/app',
          tag: 'v1',
          digest: DIGEST_A,
          action: 'push',
        },
      ],
      ignored: 0,
    });
  });

  it('without a delivery id, tells a tag moved back to an earlier digest from that earlier push', () => {
    const at = (receivedAt: string) =>
      parseEvents('github', registryPackage(), { registry: 'ghcr', receivedAt }).events[0]?.id;

    expect(at('2026-12-01T10:00:00.000Z')).toMatch(/^[a-f0-9]{64}$/);
    expect(at('2026-12-01T10:00:00.000Z')).not.toBe(at('2026-12-01T11:00:00.000Z'));
  });

  it('reads the updated action and the newer package event the same way', () => {
    expect(parse(registryPackage({ action: 'updated' })).events).toHaveLength(1);
    expect(parse(registryPackage({ key: 'package' })).events).toEqual([
      expect.objectContaining({ repository: 'octo-org/app', tag: 'v1' }),
    ]);
  });

  it('counts as ignored other package types, untagged versions, other actions and other events', () => {
    const results = [
      parse(registryPackage({ packageType: 'npm' })),
      parse(registryPackage({ tag: null })),
      parse(registryPackage({ action: 'deleted' })),
      parse({ action: 'opened', issue: {} }),
    ];

    expect(results).toEqual(results.map(() => ({ events: [], ignored: 1 })));
  });

  it('refuses (400) a payload without an action, or a package without its namespace', () => {
    expect(() => parse({ registry_package: {} })).toThrow(MalformedPayloadError);
    expect(() => parse({ action: 'published', registry_package: { name: 'app' } })).toThrow(
      /not a GitHub package: at namespace/,
    );
  });
});
