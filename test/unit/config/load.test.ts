import { describe, expect, it } from 'vitest';
import { ConfigError } from '#config/errors.ts';
import { expandEnv, parseConfig } from '#config/load.ts';

const DESIGN_EXAMPLE = `
registries:
  - name: hub-a
    url: http://127.0.0.1:5001
    credentials: { username: "\${HUB_A_USER}", password: "\${HUB_A_PASSWORD}" }
  - name: dc-b
    url: http://127.0.0.1:5002
sources:
  - name: hub-a
    registry: hub-a
    format: distribution
    auth: { header: Authorization, value: "Bearer \${HUB_A_WEBHOOK_TOKEN}" }
policies:
  - name: team-a-to-dc-b
    source: { registry: hub-a, project: team-a }
    destination: { registry: dc-b, namespace: mirror }
    filters: { repositories: ["**"], tags: ["v*", "latest"], excludeTags: ["*-rc*"] }
    replicateDeletes: true
    override: true
    enabled: true
limits: { runningJobs: 10, perDestination: 4, blobsPerJob: 4 }
api: { token: "\${CROSSDOCK_API_TOKEN}" }
`;

const ENV = {
  HUB_A_USER: 'alice',
  HUB_A_PASSWORD: 'p$w',
  HUB_A_WEBHOOK_TOKEN: 'hook',
  CROSSDOCK_API_TOKEN: 'api',
};

function issuesOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('reads the example of the design, expanding environment variables', () => {
    const config = parseConfig(DESIGN_EXAMPLE, { env: ENV });
    expect(config.registries[0]).toEqual({
      name: 'hub-a',
      url: 'http://127.0.0.1:5001',
      kind: 'distribution',
      insecure: false,
      credentials: { username: 'alice', password: 'p$w' },
    });
    expect(config.sources[0]?.auth).toEqual({ header: 'Authorization', value: 'Bearer hook' });
    expect(config.policies[0]).toMatchObject({
      destination: { registry: 'dc-b', namespace: 'mirror' },
      filters: {
        repositories: ['**'],
        tags: ['v*', 'latest'],
        excludeTags: ['*-rc*'],
        excludeRepositories: [],
      },
      replicateDeletes: true,
    });
    expect(config.api.token).toBe('api');
  });

  it('fills in defaults for what is left out', () => {
    const config = parseConfig(
      'registries: [{name: a, url: "http://127.0.0.1:1"}]\npolicies: [{name: p, source: {registry: a, project: x}, destination: {registry: a}}]',
      { env: {} },
    );
    expect(config.limits).toEqual({ runningJobs: 10, perDestination: 4, blobsPerJob: 4 });
    expect(config.policies[0]).toMatchObject({ enabled: true, override: true, replicateDeletes: false });
    expect(config.policies[0]?.filters.tags).toEqual(['**']);
  });

  it('names the path and the variable when an environment variable is not set', () => {
    expect(
      issuesOf(() => parseConfig(DESIGN_EXAMPLE, { env: { ...ENV, HUB_A_PASSWORD: undefined } })),
    ).toEqual([
      'registries[0].credentials.password: environment variable HUB_A_PASSWORD is not set (use ${HUB_A_PASSWORD:-default} for a default)',
    ]);
  });

  it('refuses a policy that names an unknown registry, naming the path', () => {
    const text = DESIGN_EXAMPLE.replace('registry: dc-b, namespace', 'registry: dc-c, namespace');
    expect(issuesOf(() => parseConfig(text, { env: ENV }))).toEqual([
      'policies[0].destination.registry: unknown registry "dc-c"',
    ]);
  });

  it('refuses unknown keys, so that a typo does not pass silently', () => {
    const text = DESIGN_EXAMPLE.replace('override: true', 'overide: true');
    expect(issuesOf(() => parseConfig(text, { env: ENV })).join()).toMatch(/^policies\[0\]: .*overide/);
  });

  it('refuses duplicate names, bad URLs and project names that are not repository paths', () => {
    const issues = issuesOf(() =>
      parseConfig(
        `registries:
  - { name: a, url: "ftp://x" }
  - { name: a, url: "http://127.0.0.1:1/v2" }
policies:
  - { name: p, source: { registry: a, project: "Team A" }, destination: { registry: a } }`,
        { env: {} },
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'registries[0].url: must be an http:// or https:// URL',
        'registries[1].url: must not have a path (the API lives at /v2/)',
        expect.stringMatching(/^policies\[0\]\.source\.project: must be a repository path/),
      ]),
    );
  });

  it('reports a YAML syntax error with its line and column', () => {
    expect(issuesOf(() => parseConfig('registries: [\n  { name: a', { env: {} }))[0]).toMatch(
      /^line \d+:\d+: /,
    );
  });
});

describe('expandEnv', () => {
  it('uses defaults and keeps $${ as a literal ${', () => {
    expect(expandEnv('${A:-x}-${B}-$${C}', { B: 'b' })).toEqual({ value: 'x-b-${C}', missing: [] });
  });
});
