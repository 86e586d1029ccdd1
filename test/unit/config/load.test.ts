import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '#config/errors.ts';
import { loadConfig, parseConfig } from '#config/load.ts';
import { selfSignedCertificate } from '../../support/certificates.ts';
import {
  DESIGN_ENV,
  DESIGN_EXAMPLE,
  DESIGN_EXAMPLE_FILE,
  errorOf,
  issuesOf,
  TWO_REGISTRIES,
} from './fixtures.ts';

describe('parseConfig', () => {
  it('reads the example of the design, with its environment variables, to the expected config', () => {
    // Act
    const config = parseConfig(DESIGN_EXAMPLE, { env: DESIGN_ENV });

    // Assert
    expect(config).toEqual({
      registries: [
        {
          name: 'hub-a',
          url: 'http://127.0.0.1:5001',
          kind: 'distribution',
          insecure: false,
          credentials: { username: 'alice', password: 'pa$$word' },
        },
        { name: 'dc-b', url: 'http://127.0.0.1:5002', kind: 'distribution', insecure: false },
      ],
      sources: [
        {
          name: 'hub-a',
          registry: 'hub-a',
          format: 'distribution',
          auth: { header: 'Authorization', value: 'Bearer hook-token' },
        },
      ],
      policies: [
        {
          name: 'team-a-to-dc-b',
          source: { registry: 'hub-a', project: 'team-a' },
          destination: { registry: 'dc-b', namespace: 'mirror' },
          filters: {
            repositories: ['**'],
            tags: ['v*', 'latest'],
            excludeRepositories: [],
            excludeTags: ['*-rc*'],
          },
          replicateDeletes: true,
          override: true,
          enabled: true,
        },
      ],
      limits: { runningJobs: 10, perDestination: 4, blobsPerJob: 4 },
      reconcile: { everyMinutes: 5, staleAfterMinutes: 10, tooLongMinutes: 60 },
      records: { keepDays: 30 },
      api: { token: 'api-token' },
    });
  });

  it('reads an empty document as an empty config with default limits', () => {
    expect(parseConfig('', { env: {} })).toEqual({
      registries: [],
      sources: [],
      policies: [],
      limits: { runningJobs: 10, perDestination: 4, blobsPerJob: 4 },
      reconcile: { everyMinutes: 5, staleAfterMinutes: 10, tooLongMinutes: 60 },
      records: { keepDays: 30 },
      api: {},
    });
  });

  it('reads how many days finished jobs are kept', () => {
    expect(parseConfig('records: { keepDays: "7" }', { env: {} }).records).toEqual({ keepDays: 7 });
  });

  it('names the path and the line of a variable that is not set', () => {
    // Arrange
    const env = { ...DESIGN_ENV, HUB_A_PASSWORD: undefined };

    // Act
    const error = errorOf(() => parseConfig(DESIGN_EXAMPLE, { env, file: 'crossdock.yaml' }));

    // Assert
    expect(error.issues).toEqual([
      {
        path: 'registries[0].credentials.password',
        line: 4,
        column: 57,
        message:
          'environment variable HUB_A_PASSWORD is not set (write ${HUB_A_PASSWORD:-default} for a default)',
      },
    ]);
    expect(error.message).toContain('crossdock.yaml:4:57: registries[0].credentials.password: environment');
  });

  it('expands variables after parsing, so that a value cannot inject YAML structure', () => {
    // Arrange: a value that would add a key if it were pasted into the text.
    const text = `${TWO_REGISTRIES}api: { token: "\${TOKEN}" }\n`;

    // Act
    const config = parseConfig(text, { env: { TOKEN: 'x", admin: true, y: "' } });

    // Assert
    expect(config.api).toEqual({ token: 'x", admin: true, y: "' });
  });

  it('does not expand variables in keys, nor in comments', () => {
    const text = `# \${IN_A_COMMENT}\nlimits:\n  \${KEY}: 1\n`;

    expect(issuesOf(() => parseConfig(text, { env: {} }))).toEqual([
      expect.stringMatching(/^limits\.\$\{KEY\}: unknown key; known keys: runningJobs, /),
    ]);
  });

  it('reads booleans and numbers that come from variables', () => {
    const text = `registries:
  - name: dc-b
    url: https://dc-b.example
    insecure: \${INSECURE:-false}
limits: { runningJobs: "\${RUNNING_JOBS}" }`;

    const config = parseConfig(text, { env: { INSECURE: 'true', RUNNING_JOBS: '25' } });

    expect(config.registries[0]?.insecure).toBe(true);
    expect(config.limits.runningJobs).toBe(25);
  });

  it('reports a YAML syntax error with its line and column', () => {
    // Act
    const error = errorOf(() => parseConfig('registries:\n  - { name: a\n', { env: {}, file: 'c.yaml' }));

    // Assert
    expect(error.issues[0]).toMatchObject({ path: '', line: 3, column: 1 });
    expect(error.message).toMatch(/^invalid config:\n {2}c\.yaml:3:1: .*\}/);
  });

  it('refuses an alias without its anchor, and an alias bomb, as config errors', () => {
    const bomb = [
      'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]',
      ...Array.from({ length: 8 }, (_, i) => {
        const name = String.fromCharCode(98 + i);
        const previous = String.fromCharCode(97 + i);
        return `${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`;
      }),
    ].join('\n');

    const unresolved = errorOf(() => parseConfig('registries: *nowhere', { env: {} }));
    const exploded = errorOf(() => parseConfig(bomb, { env: {} }));

    expect(unresolved.issues).toEqual([{ path: '', message: expect.stringMatching(/alias/i) }]);
    expect(exploded.issues).toEqual([{ path: '', message: expect.stringMatching(/alias/i) }]);
  });

  it('refuses a key given twice in one mapping', () => {
    const error = errorOf(() =>
      parseConfig('limits: { runningJobs: 1 }\nlimits: { runningJobs: 2 }', { env: {} }),
    );

    expect(error.issues).toEqual([
      expect.objectContaining({ line: 2, column: 1, message: 'Map keys must be unique' }),
    ]);
  });

  it('names the path, with array indexes, and the line of a value that is invalid', () => {
    // Arrange
    const text = `${TWO_REGISTRIES}policies:
  - { name: p0, source: { registry: hub-a, project: team-a }, destination: { registry: dc-b, namespace: m } }
  - name: p1
    source: { registry: hub-a, project: team-a }
    destination: { registry: dc-b, namespace: m }
    filters: { tags: ["v*", "release/*"] }
`;

    // Act
    const error = errorOf(() => parseConfig(text, { env: {} }));

    // Assert
    expect(error.issues).toEqual([
      { path: 'policies[1].filters.tags[1]', message: 'a tag never contains "/"', line: 10, column: 29 },
    ]);
  });

  it('reports every problem at once, in the order of the file', () => {
    const text = `registries:
  - { name: hub-a, url: "ftp://hub-a" }
policies:
  - { name: p, source: { registry: hub-a, project: team-a }, destination: { registry: nowhere } }
limits: { runningJobs: 0 }
`;

    expect(issuesOf(() => parseConfig(text, { env: {} }))).toEqual([
      'registries[0].url: must be an http:// or https:// URL',
      'policies[0].destination.registry: unknown registry "nowhere" (declared: hub-a)',
      'limits.runningJobs: must be at least 1',
    ]);
  });
});

describe('loadConfig', () => {
  it('reads a file, naming it in errors', async () => {
    // Arrange
    const directory = await mkdtemp(join(tmpdir(), 'crossdock-config-'));
    const file = join(directory, 'crossdock.yaml');
    await writeFile(file, 'limits: { runingJobs: 3 }\n');

    // Act
    const failure = await loadConfig(file, {}).catch((error: unknown) => error);

    // Assert
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).message).toContain(`${file}:1:11: limits.runingJobs: unknown key`);
  });

  it('reads the example of the design from its file', async () => {
    const config = await loadConfig(DESIGN_EXAMPLE_FILE, DESIGN_ENV);

    expect(config.policies.map((p) => p.name)).toEqual(['team-a-to-dc-b']);
  });

  it('says so when the file does not exist', async () => {
    await expect(loadConfig('/nonexistent/crossdock.yaml', {})).rejects.toThrow(
      '/nonexistent/crossdock.yaml: cannot read the config: no such file',
    );
  });

  it('reads caFile next to the config file into caCertificates, and refuses one that cannot be read', async () => {
    // Arrange
    const directory = await mkdtemp(join(tmpdir(), 'crossdock-config-'));
    const file = join(directory, 'crossdock.yaml');
    const { certFile } = selfSignedCertificate(directory, 'crossdock-test-ca');
    await writeFile(
      file,
      `registries:
  - { name: a, url: "https://a.example", caFile: cert.pem }
  - { name: b, url: "https://b.example", caFile: missing.pem }
`,
    );

    // Act
    const failure = (await loadConfig(file, {}).catch((error: unknown) => error)) as ConfigError;

    // Assert
    expect(failure.issues).toEqual([
      {
        path: 'registries[1].caFile',
        message: `cannot read ${join(directory, 'missing.pem')}: no such file`,
        line: 3,
        column: 50,
      },
    ]);
    await writeFile(file, `registries:\n  - { name: a, url: "https://a.example", caFile: cert.pem }\n`);
    expect((await loadConfig(file, {})).registries[0]).toMatchObject({
      caFile: certFile,
      caCertificates: readFileSync(certFile, 'utf8'),
    });
  });

  it('refuses a caFile that is not a PEM certificate bundle, without quoting it', async () => {
    // Arrange
    const directory = await mkdtemp(join(tmpdir(), 'crossdock-config-'));
    const file = join(directory, 'crossdock.yaml');
    await writeFile(join(directory, 'secrets.env'), 'DATABASE_PASSWORD=hunter2\n');
    await writeFile(
      file,
      `registries:
  - { name: a, url: "https://a.example", caFile: secrets.env }
  - { name: b, url: "https://b.example", caFile: /dev/zero }
`,
    );

    // Act
    const failure = (await loadConfig(file, {}).catch((error: unknown) => error)) as ConfigError;

    // Assert
    expect(failure.issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      `registries[0].caFile: ${join(directory, 'secrets.env')} is not a PEM certificate bundle (no CERTIFICATE block)`,
      'registries[1].caFile: cannot use /dev/zero: not a regular file',
    ]);
    expect(failure.message).not.toContain('hunter2');
  });
});
