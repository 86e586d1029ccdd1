import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '#config/errors.ts';
import { expandEnv, parseConfig } from '#config/load.ts';
import type { CrossdockConfig } from '#config/schema.ts';
import { BadRequestError } from '../../../functions/lib/api/errors.ts';
import { type ConfigKind, validateItem } from '../../../functions/lib/api/validation.ts';
import { hostileString, mostly, pathComponent, repositoryPath } from './arbitraries.ts';

/**
 * The YAML config (functions/lib/config: parse, `${ENV}`, schema) and the API's validation of
 * its items (functions/lib/api/validation.ts, the same schema) against generated input: only
 * ConfigError (BadRequestError through the API) is thrown, no name, path or URL outside the
 * grammar is accepted, an accepted config reads back the same from its own YAML, and no
 * refusal quotes a secret.
 */

const RUNS = { numRuns: 200 };
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** The config, or undefined when it threw the module's error. */
function attempt(text: string): CrossdockConfig | undefined {
  try {
    return parseConfig(text, { env: { SET: 'value', EMPTY: '' } });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return undefined;
  }
}

function expectRepositoryPath(path: string | undefined): void {
  if (path === undefined) return;
  for (const component of path.split('/')) expect(component).toMatch(PATH_COMPONENT);
}

/** What every accepted config must be, whatever the text. */
function expectWithinGrammar(config: CrossdockConfig | undefined): void {
  if (config === undefined) return;
  const registries = new Set(config.registries.map((r) => r.name));
  for (const registry of config.registries) {
    expect(registry.name).toMatch(NAME);
    const url = new URL(registry.url);
    expect(['http:', 'https:']).toContain(url.protocol);
    expect(registry.url).toBe(url.origin);
  }
  for (const source of config.sources) {
    expect(source.name).toMatch(NAME);
    expect(registries.has(source.registry)).toBe(true);
  }
  for (const policy of config.policies) {
    expect(policy.name).toMatch(NAME);
    expect(registries.has(policy.source.registry)).toBe(true);
    expect(registries.has(policy.destination.registry)).toBe(true);
    expectRepositoryPath(policy.source.project);
    expectRepositoryPath(policy.destination.namespace);
    for (const glob of [...policy.filters.tags, ...policy.filters.excludeTags])
      expect(glob).not.toContain('/');
  }
  for (const limit of Object.values(config.limits)) expect(Number.isInteger(limit) && limit >= 1).toBe(true);
}

const name = mostly(fc.oneof(pathComponent, fc.constantFrom('hub-a', 'dc-b')));
const url = fc.oneof(
  fc.constantFrom('http://127.0.0.1:5001', 'https://registry.example', 'https://registry.example:8443/'),
  fc.webUrl({ withQueryParameters: true, withFragments: true, validSchemes: ['http', 'https', 'ftp'] }),
  hostileString,
);
const registry = fc.record(
  {
    name,
    url,
    kind: fc.constantFrom('distribution', 'harbor', 'ecr', 'other'),
    insecure: fc.constantFrom(true, false, 'true', 'false', 'yes'),
    credentials: fc.record({ username: fc.string(), password: fc.string() }),
    rateLimit: fc.record({
      requestsPerSecond: fc.oneof(fc.double(), fc.constantFrom('5', '0', '-1', 'fast')),
    }),
  },
  { requiredKeys: ['name', 'url'] },
);
const source = fc.record({
  name,
  registry: name,
  format: fc.constantFrom('distribution', 'harbor', 'github', 'nope'),
  auth: fc.oneof(
    fc.record({ header: mostly(fc.constant('Authorization')), value: fc.string() }),
    fc.record({ query: mostly(fc.constant('token')), value: fc.string() }),
    fc.record({ hmacSecret: fc.string() }),
    fc.dictionary(hostileString, fc.string(), { maxKeys: 3 }),
  ),
});
const policy = fc.record(
  {
    name,
    source: fc.record({ registry: name, project: mostly(repositoryPath) }),
    destination: fc.record(
      { registry: name, namespace: mostly(repositoryPath) },
      { requiredKeys: ['registry'] },
    ),
    filters: fc.record(
      {
        repositories: fc.array(fc.oneof(fc.constant('**'), hostileString), { maxLength: 3 }),
        tags: fc.array(fc.oneof(fc.constantFrom('v*', '**', 'a/b'), hostileString), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    replicateDeletes: fc.constantFrom(true, false, 'true', 'no'),
    enabled: fc.boolean(),
  },
  { requiredKeys: ['name', 'source', 'destination'] },
);
const document = fc.record(
  {
    registries: fc.array(registry, { maxLength: 3 }),
    sources: fc.array(source, { maxLength: 2 }),
    policies: fc.array(policy, { maxLength: 2 }),
    limits: fc.record(
      { runningJobs: fc.oneof(fc.integer({ min: -2, max: 50 }), fc.constantFrom('4', '2.5', 'x')) },
      { requiredKeys: [] },
    ),
    api: fc.record({ token: fc.oneof(fc.string(), fc.constant('${EMPTY}'), fc.constant('${UNSET}')) }),
  },
  { requiredKeys: [] },
);

/** Configs built from valid parts only (the values themselves are free text where the schema allows). */
// Without "$": a "${" in a value is a variable reference (expanded or refused), not text.
const text = fc.string({ minLength: 1, maxLength: 20 }).filter((value) => !value.includes('$'));
const validName = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
const validConfig = fc.record({
  registries: fc.constant([
    { name: 'hub-a', url: 'http://127.0.0.1:5001', credentials: { username: 'alice', password: 'pw: "#{[' } },
    {
      name: 'dc-b',
      url: 'https://registry.example:8443/',
      insecure: 'true',
      rateLimit: { requestsPerSecond: 2.5 },
    },
  ]),
  sources: fc.uniqueArray(
    fc.record({
      name: validName,
      registry: fc.constantFrom('hub-a', 'dc-b'),
      format: fc.constantFrom('distribution', 'harbor', 'github'),
      auth: fc.oneof(
        fc.record({ header: fc.constantFrom('Authorization', 'X-Token'), value: text }),
        fc.record({ query: fc.constant('token'), value: text }),
        fc.record({ hmacSecret: text }),
      ),
    }),
    { selector: (source) => source.name, maxLength: 3 },
  ),
  policies: fc.uniqueArray(
    fc.record(
      {
        name: validName,
        source: fc.record({ registry: fc.constant('hub-a'), project: repositoryPath }),
        destination: fc.record(
          { registry: fc.constant('dc-b'), namespace: repositoryPath },
          { requiredKeys: ['registry'] },
        ),
        filters: fc.record(
          {
            repositories: fc.array(text, { minLength: 1, maxLength: 3 }),
            tags: fc.array(
              text.filter((glob) => !glob.includes('/')),
              { minLength: 1, maxLength: 3 },
            ),
            excludeTags: fc.array(
              text.filter((glob) => !glob.includes('/')),
              { maxLength: 2 },
            ),
          },
          { requiredKeys: [] },
        ),
        replicateDeletes: fc.constantFrom(true, false, 'true', 'false'),
        override: fc.boolean(),
        enabled: fc.boolean(),
      },
      { requiredKeys: ['name', 'source', 'destination'] },
    ),
    { selector: (policy) => policy.name, maxLength: 3 },
  ),
  limits: fc.record(
    { runningJobs: fc.integer({ min: 1, max: 50 }), blobsPerJob: fc.constantFrom('4', 8) },
    { requiredKeys: [] },
  ),
  api: fc.record({ token: fc.oneof(text, fc.constant('')) }, { requiredKeys: [] }),
});

describe('fuzz: the config', () => {
  it('any text: a config within the grammar, or a ConfigError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), hostileString), (text) => {
        expectWithinGrammar(attempt(text));
      }),
      RUNS,
    );
  });

  it('any JSON document (JSON is YAML): the same', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expectWithinGrammar(attempt(JSON.stringify(value)));
      }),
      RUNS,
    );
  });

  it('configs with valid and hostile fields: only names, paths and URLs of the grammar are accepted', () => {
    fc.assert(
      fc.property(fc.oneof(document, validConfig), (value) => {
        expectWithinGrammar(attempt(JSON.stringify(value)));
      }),
      RUNS,
    );
  });

  it('round-trips: a config of valid parts is accepted, and its YAML reads back the same', () => {
    fc.assert(
      fc.property(validConfig, (value) => {
        const config = parseConfig(stringify(value), { env: {} });
        expectWithinGrammar(config);
        expect(parseConfig(stringify(config), { env: {} })).toEqual(config);
      }),
      RUNS,
    );
  });

  it('${ENV} expansion: a string or a ConfigError; text without "$" is left as it is', () => {
    const env = fc.dictionary(
      fc.oneof(fc.constantFrom('A', 'B_1', '__proto__', 'constructor'), fc.string()),
      fc.string(),
      {
        maxKeys: 4,
      },
    );
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom('$', '{', '}', ':', '-', 'A', 'B', '_', '1', ' '), maxLength: 24 }),
    );
    fc.assert(
      fc.property(text, env, (input, variables) => {
        try {
          const expanded = expandEnv(input, variables);
          expect(typeof expanded).toBe('string');
          if (!input.includes('$')) expect(expanded).toBe(input);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
      }),
      RUNS,
    );
  });

  it('${NAME} never reads an inherited property of the environment (toString, constructor)', () => {
    fc.assert(
      fc.property(fc.constantFrom('toString', 'constructor', 'valueOf', 'hasOwnProperty'), (variable) => {
        expect(() => expandEnv(`\${${variable}}`, {})).toThrow(ConfigError);
      }),
    );
  });
});

describe('fuzz: the API validation of config items', () => {
  const storedRegistries = [
    { name: 'hub-a', url: 'http://127.0.0.1:5001', kind: 'distribution' as const, insecure: false },
    { name: 'dc-b', url: 'https://registry.example', kind: 'distribution' as const, insecure: false },
  ];
  const secret = fc.stringMatching(/^[A-Za-z0-9]{12}$/).map((s) => `s3cret-${s}`);
  const itemOf: Record<ConfigKind, fc.Arbitrary<unknown>> = {
    registry,
    source,
    policy,
  };

  it('answers an item within the grammar or a BadRequestError that never quotes the secret it was given', () => {
    const kindAndBody = fc
      .constantFrom<ConfigKind>('registry', 'source', 'policy')
      .chain((kind) => fc.tuple(fc.constant(kind), fc.oneof(itemOf[kind], fc.jsonValue({ maxDepth: 2 }))));
    fc.assert(
      fc.property(kindAndBody, secret, ([kind, body], password) => {
        const isItem = typeof body === 'object' && body !== null && !Array.isArray(body);
        const withSecret = !isItem
          ? body
          : kind === 'registry'
            ? { ...body, credentials: { username: 'u', password } }
            : kind === 'source'
              ? { ...body, auth: { hmacSecret: password } }
              : body;
        try {
          const item = validateItem(kind, withSecret, storedRegistries);
          expect((item as { name: string }).name).toMatch(NAME);
          if (kind === 'policy') {
            const accepted = item as CrossdockConfig['policies'][number];
            expectRepositoryPath(accepted.source.project);
            expectRepositoryPath(accepted.destination.namespace);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(BadRequestError);
          const refused = error as BadRequestError;
          expect(JSON.stringify([refused.message, refused.issues])).not.toContain(password);
        }
      }),
      RUNS,
    );
  });
});
