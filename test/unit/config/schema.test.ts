import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load.ts';
import { DESIGN_ENV, DESIGN_EXAMPLE, issuesOf, TWO_REGISTRIES } from './fixtures.ts';

const parse = (text: string) => parseConfig(text, { env: {} });
const problems = (text: string) => issuesOf(() => parse(text));
const withPolicy = (policy: string) => `${TWO_REGISTRIES}policies:\n  - ${policy}\n`;

describe('config schema', () => {
  describe('defaults', () => {
    it('fills in the defaults of a registry, a policy, its filters and the limits', () => {
      // Act
      const config = parse(
        withPolicy(
          '{ name: p, source: { registry: hub-a, project: team-a }, destination: { registry: dc-b } }',
        ),
      );

      // Assert
      expect(config.registries[0]).toEqual({
        name: 'hub-a',
        url: 'http://127.0.0.1:5001',
        kind: 'distribution',
        insecure: false,
      });
      expect(config.policies[0]).toEqual({
        name: 'p',
        source: { registry: 'hub-a', project: 'team-a' },
        destination: { registry: 'dc-b' },
        filters: { repositories: ['**'], tags: ['**'], excludeRepositories: [], excludeTags: [] },
        replicateDeletes: false,
        override: true,
        enabled: true,
      });
      expect(config.limits).toEqual({ runningJobs: 10, perDestination: 4, blobsPerJob: 4 });
    });

    it('keeps the limits that are given and defaults the others', () => {
      expect(parse('limits: { perDestination: 2 }').limits).toEqual({
        runningJobs: 10,
        perDestination: 2,
        blobsPerJob: 4,
      });
    });

    it('reads an empty api token (e.g. ${CROSSDOCK_API_TOKEN:-}) as no token', () => {
      expect(parseConfig('api: { token: "${CROSSDOCK_API_TOKEN:-}" }', { env: {} }).api).toEqual({
        token: undefined,
      });
    });
  });

  describe('unknown keys', () => {
    it('refuses an unknown key, so that a typo does not pass silently, naming it and the known keys', () => {
      // Arrange
      const text = DESIGN_EXAMPLE.replace('override: true', 'overide: true');

      // Act
      const issues = issuesOf(() => parseConfig(text, { env: DESIGN_ENV }));

      // Assert
      expect(issues).toEqual([
        'policies[0].overide: unknown key; known keys: name, source, destination, filters, replicateDeletes, override, enabled, schedule',
      ]);
    });

    it('refuses unknown keys at every level, one issue per key', () => {
      expect(
        problems(
          'registries:\n  - { name: a, url: "http://a", credentials: { user: u, password: p }, tls: {} }',
        ),
      ).toEqual([
        'registries[0].credentials.username: is required',
        'registries[0].credentials.user: unknown key; known keys: username, password',
        'registries[0].tls: unknown key; known keys: name, url, kind, credentials, insecure, caFile, caCertificates, rateLimit, readIdleTimeoutSeconds, allowLinkLocal',
      ]);
    });
  });

  describe('names', () => {
    it('refuses two items of one kind with the same name, naming the second', () => {
      const text = `${TWO_REGISTRIES}  - { name: hub-a, url: "http://127.0.0.1:5003" }\n`;

      expect(problems(text)).toEqual(['registries[2].name: duplicate name "hub-a" (also registries[0])']);
    });

    it('allows the same name for items of different kinds', () => {
      const text = `${TWO_REGISTRIES}sources:\n  - { name: hub-a, registry: hub-a, format: zot, auth: { hmacSecret: s } }\n`;

      expect(parse(text).sources[0]?.name).toBe('hub-a');
    });

    it.each(['Hub-A', 'hub a', '-hub', 'hub/a', ''])(
      'refuses the name %j, which is not a safe slug',
      (name) => {
        expect(problems(`registries:\n  - { name: "${name}", url: "http://a" }`)).toEqual([
          'registries[0].name: must be 1 to 63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
        ]);
      },
    );
  });

  describe('registries', () => {
    it.each([
      ['ftp://a', 'must be an http:// or https:// URL'],
      ['127.0.0.1:5000', 'must be an http:// or https:// URL'],
      ['http://a/v2', 'must not have a path (the registry API is always at /v2/)'],
      ['http://user:pw@a', 'must not hold credentials: use credentials: { username, password }'],
      ['https://a?token=x', 'must not have a query or a fragment'],
    ])('refuses the url %j', (url, message) => {
      expect(problems(`registries:\n  - { name: a, url: "${url}" }`)).toEqual([
        `registries[0].url: ${message}`,
      ]);
    });

    it('keeps only the origin of a url', () => {
      expect(
        parse('registries:\n  - { name: a, url: "https://Registry.Example:443/" }').registries[0]?.url,
      ).toBe('https://registry.example');
    });

    it('refuses an unknown kind, listing the known ones', () => {
      expect(problems('registries:\n  - { name: a, url: "http://a", kind: gitlab }')).toEqual([
        'registries[0].kind: must be one of: distribution, harbor, ghcr, ecr, quay, generic',
      ]);
    });

    it('reads TLS options and a rate limit', () => {
      const text =
        'registries:\n  - { name: a, url: "https://a", kind: harbor, caFile: ca.pem, rateLimit: { requestsPerSecond: 0.5 } }';

      expect(parse(text).registries[0]).toMatchObject({
        kind: 'harbor',
        caFile: 'ca.pem',
        rateLimit: { requestsPerSecond: 0.5 },
      });
    });

    it.each([
      ['http://169.254.169.254', '169.254.169.254 is a link-local address (where cloud metadata lives)'],
      ['http://[fe80::1]:5000', 'fe80::1 is a link-local address (where cloud metadata lives)'],
      ['http://[fd00:ec2::254]', 'fd00:ec2::254 is a cloud metadata address'],
      ['http://100.100.100.200', '100.100.100.200 is a cloud metadata address'],
      ['http://metadata.google.internal', 'metadata.google.internal is a cloud metadata host name'],
    ])('refuses the link-local or cloud metadata url %j unless the registry allows it', (url, reason) => {
      expect(problems(`registries:\n  - { name: a, url: "${url}" }`)).toEqual([
        `registries[0].url: ${reason}; set allowLinkLocal: true if this registry really lives there`,
      ]);
      expect(
        parse(`registries:\n  - { name: a, url: "${url}", allowLinkLocal: true }`).registries[0],
      ).toMatchObject({
        allowLinkLocal: true,
      });
    });

    it('keeps loopback registries, which need no allowance', () => {
      expect(parse(TWO_REGISTRIES).registries.map((registry) => registry.url)).toEqual([
        'http://127.0.0.1:5001',
        'http://127.0.0.1:5002',
      ]);
    });

    it('reads a read-idle timeout in seconds', () => {
      expect(
        parse('registries:\n  - { name: a, url: "https://a", readIdleTimeoutSeconds: "0.5" }').registries[0],
      ).toMatchObject({ readIdleTimeoutSeconds: 0.5 });
    });

    it('refuses caFile with insecure, which skips certificate checks', () => {
      expect(
        problems('registries:\n  - { name: a, url: "https://a", insecure: true, caFile: ca.pem }'),
      ).toEqual(['registries[0].caFile: cannot be used with insecure: true, which skips certificate checks']);
    });
  });

  describe('sources', () => {
    const source = (auth: string, registry = 'hub-a') =>
      `${TWO_REGISTRIES}sources:\n  - { name: s, registry: ${registry}, format: github, auth: ${auth} }\n`;

    it.each([
      ['{ header: X-Token, value: v }', { header: 'X-Token', value: 'v' }],
      ['{ hmacSecret: s }', { hmacSecret: 's' }],
      ['{ query: token, value: v }', { query: 'token', value: 'v' }],
    ])('reads the auth %s', (auth, expected) => {
      expect(parse(source(auth)).sources[0]?.auth).toEqual(expected);
    });

    it.each([
      ['{}', 'sources[0].auth: must be one of { header, value }, { hmacSecret } or { query, value }'],
      ['{ header: X-Token, query: t, value: v }', 'sources[0].auth: has both header and query; choose one'],
      ['{ header: X-Token }', 'sources[0].auth.value: is required with header'],
      ['{ hmacSecret: s, value: v }', 'sources[0].auth.value: is not used with hmacSecret'],
      ['{ header: "X Token", value: v }', 'sources[0].auth.header: must be an HTTP header name'],
      ['{ hmacSecret: "" }', 'sources[0].auth.hmacSecret: must not be empty'],
    ])('refuses the auth %s', (auth, message) => {
      expect(problems(source(auth))).toEqual([message]);
    });

    it('refuses a source of an unknown registry, naming the path', () => {
      expect(problems(source('{ hmacSecret: s }', 'hub-x'))).toEqual([
        'sources[0].registry: unknown registry "hub-x" (declared: hub-a, dc-b)',
      ]);
    });
  });

  describe('policies', () => {
    it('refuses a policy that names an unknown registry, naming the path', () => {
      // Arrange
      const text = DESIGN_EXAMPLE.replace('registry: dc-b, namespace', 'registry: dc-c, namespace');

      // Act
      const issues = issuesOf(() => parseConfig(text, { env: DESIGN_ENV }));

      // Assert
      expect(issues).toEqual([
        'policies[0].destination.registry: unknown registry "dc-c" (declared: hub-a, dc-b)',
      ]);
    });

    it.each(['Team-A', 'team-a/', '/team-a', 'team--a/-x', 'team a', '', 'team-a//x', '*'])(
      'refuses the project %j, which is not a repository path prefix',
      (project) => {
        expect(
          problems(
            withPolicy(
              `{ name: p, source: { registry: hub-a, project: "${project}" }, destination: { registry: dc-b } }`,
            ),
          ),
        ).toEqual([
          'policies[0].source.project: must be a repository path such as team-a or team-a/x (lowercase, "/"-separated)',
        ]);
      },
    );

    it.each(['team-a', 'team_a/x.y/z', 'a__b/c--d', '0'])('accepts the project %j', (project) => {
      expect(
        parse(
          withPolicy(
            `{ name: p, source: { registry: hub-a, project: "${project}" }, destination: { registry: dc-b } }`,
          ),
        ).policies,
      ).toHaveLength(1);
    });

    it('refuses a namespace that is not a repository path prefix', () => {
      expect(
        problems(
          withPolicy(
            '{ name: p, source: { registry: hub-a, project: a }, destination: { registry: dc-b, namespace: Mirror } }',
          ),
        ),
      ).toEqual([
        'policies[0].destination.namespace: must be a repository path such as team-a or team-a/x (lowercase, "/"-separated)',
      ]);
    });

    it('refuses a policy that replicates into its own project, which would copy every copy again', () => {
      expect(
        problems(
          withPolicy(
            '{ name: p, source: { registry: hub-a, project: team-a }, destination: { registry: hub-a, namespace: team-a/mirror } }',
          ),
        ),
      ).toEqual([
        'policies[0].destination: namespace "team-a/mirror" lies inside the source project "team-a" of the same registry, so every copy would be copied again',
      ]);
      expect(
        problems(
          withPolicy(
            '{ name: p, source: { registry: hub-a, project: team-a }, destination: { registry: hub-a } }',
          ),
        ),
      ).toEqual(['policies[0].destination: is the source itself: set a namespace or another registry']);
    });

    it('accepts a mirror on the same registry outside the project', () => {
      const text = withPolicy(
        '{ name: p, source: { registry: hub-a, project: team-a }, destination: { registry: hub-a, namespace: team-ab } }',
      );

      expect(parse(text).policies[0]?.destination).toEqual({ registry: 'hub-a', namespace: 'team-ab' });
    });

    it('refuses empty include filters, which would match nothing', () => {
      expect(
        problems(
          withPolicy(
            '{ name: p, source: { registry: hub-a, project: a }, destination: { registry: dc-b }, filters: { tags: [] } }',
          ),
        ),
      ).toEqual(['policies[0].filters.tags: must list at least one glob (["**"] for everything)']);
    });

    it('refuses a value of the wrong type, saying what was expected', () => {
      expect(
        problems(
          withPolicy(
            '{ name: p, source: { registry: hub-a, project: a }, destination: { registry: dc-b }, enabled: yes, filters: { tags: v1 } }',
          ),
        ),
      ).toEqual([
        'policies[0].enabled: must be true or false, not a string',
        'policies[0].filters.tags: must be a list, not a string',
      ]);
    });

    it('says that a required key is missing', () => {
      expect(
        problems(withPolicy('{ name: p, source: { registry: hub-a }, destination: { registry: dc-b } }')),
      ).toEqual(['policies[0].source.project: is required']);
    });
  });

  describe('limits', () => {
    it.each([
      ['{ runningJobs: 0 }', 'limits.runningJobs: must be at least 1'],
      ['{ blobsPerJob: 1.5 }', 'limits.blobsPerJob: must be a whole number'],
      ['{ perDestination: many }', 'limits.perDestination: must be a number, not a string'],
    ])('refuses %s', (limits, message) => {
      expect(problems(`limits: ${limits}`)).toEqual([message]);
    });
  });
});
