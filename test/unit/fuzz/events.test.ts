import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliveryKey } from '../../../functions/lib/events/dedupe.ts';
import { WebhookError } from '../../../functions/lib/events/errors.ts';
import { checkBody } from '../../../functions/lib/events/limits.ts';
import {
  type ParsedEvents,
  parseEvents,
  type WebhookFormat,
} from '../../../functions/lib/events/normalize.ts';
import {
  validateDigest,
  validateRepository,
  validateTag,
} from '../../../functions/lib/registry/reference.ts';
import { harborCloudEvent, harborPayload } from '../../support/webhook-payloads.ts';
import { hostileString, mostly, repositoryPath, sha256Digest, tag } from './arbitraries.ts';

/**
 * Every webhook format of functions/lib/events against generated bodies: only the module's
 * typed errors (WebhookError and its subclasses: 400, 413, 415) are ever thrown, and every event
 * that comes out names a repository, tag and digest of the distribution grammar, the
 * source's registry, and an action crossdock knows.
 */

const RUNS = { numRuns: 500 };
const FORMATS: WebhookFormat[] = ['distribution', 'harbor', 'github', 'dockerhub', 'quay', 'zot'];
const REGISTRY = 'hub-a';

/** The parsed events, or undefined when it threw one of the module's errors. */
function attempt(format: WebhookFormat, payload: unknown): ParsedEvents | undefined {
  try {
    return parseEvents(format, payload, { registry: REGISTRY });
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookError);
    return undefined;
  }
}

/** What every accepted event must be, whatever came in. */
function expectWellFormed(parsed: ParsedEvents | undefined): void {
  if (parsed === undefined) return;
  expect(Number.isInteger(parsed.ignored) && parsed.ignored >= 0).toBe(true);
  for (const event of parsed.events) {
    expect(['push', 'delete']).toContain(event.action);
    expect(event.registry).toBe(REGISTRY);
    expect(typeof event.id).toBe('string');
    expect(() => validateRepository(event.repository)).not.toThrow();
    expect(event.repository.split('/')).not.toContain('..');
    if (event.tag !== undefined) expect(() => validateTag(event.tag as string)).not.toThrow();
    if (event.digest !== undefined) expect(() => validateDigest(event.digest as string)).not.toThrow();
    if (event.action === 'push') expect(event.tag).toBeDefined();
    if (event.action === 'delete') expect(event.tag ?? event.digest).toBeDefined();
    expect(deliveryKey(event)).toMatch(new RegExp(`^${REGISTRY}:.`));
  }
}

/** A value that is sometimes of the wrong type altogether. */
const anyOr = <T>(value: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: value, weight: 4 }, { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 });

const ACTIONS = fc.constantFrom('push', 'delete', 'pull', 'mount', '__proto__', 'toString', 'constructor');
const MEDIA_TYPES = fc.constantFrom(
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/octet-stream',
  'application/vnd.oci.image.layer.v1.tar+gzip',
);

const distributionTarget = fc.record(
  {
    repository: anyOr(mostly(repositoryPath)),
    mediaType: anyOr(MEDIA_TYPES),
    digest: anyOr(mostly(sha256Digest)),
    tag: anyOr(mostly(tag)),
    url: anyOr(fc.oneof(fc.webUrl(), hostileString)),
  },
  { requiredKeys: ['repository'] },
);

const distributionBody = fc.record({
  events: anyOr(
    fc.array(
      fc.record(
        {
          id: anyOr(fc.uuid()),
          timestamp: anyOr(fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
          action: anyOr(fc.oneof(ACTIONS, hostileString)),
          target: anyOr(distributionTarget),
        },
        { requiredKeys: ['id', 'action', 'target'] },
      ),
      { maxLength: 5 },
    ),
  ),
});

const HARBOR_TYPES = fc.constantFrom(
  'PUSH_ARTIFACT',
  'DELETE_ARTIFACT',
  'PULL_ARTIFACT',
  'harbor.artifact.pushed',
  'harbor.artifact.deleted',
  '__proto__',
  'toString',
  'constructor',
  'valueOf',
);

const harborArtifacts = fc.record({
  repository: mostly(repositoryPath),
  resources: fc.array(fc.record({ digest: mostly(sha256Digest), tag: mostly(tag) }), { maxLength: 4 }),
});

const harborBody = fc.oneof(
  fc
    .tuple(fc.oneof(HARBOR_TYPES, hostileString), fc.integer(), harborArtifacts)
    .map(([type, occurAt, artifacts]) => harborPayload({ type, occurAt, ...artifacts })),
  fc
    .tuple(fc.oneof(HARBOR_TYPES, hostileString), fc.uuid(), fc.string(), harborArtifacts)
    .map(([type, id, time, artifacts]) =>
      harborCloudEvent({ type, id, requestId: id, time, operator: 'robot$ci', ...artifacts }),
    ),
);

/** A parsed body with a key or value replaced by something of another type, or removed. */
const mangled = (body: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .tuple(body, fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.boolean())
    .map(([value, replacement, pick, drop]) => {
      const keys = Object.keys(value);
      const key = keys[pick % Math.max(keys.length, 1)];
      if (key === undefined) return value;
      const copy: Record<string, unknown> = { ...value };
      if (drop) delete copy[key];
      else copy[key] = replacement;
      return copy;
    });

describe('fuzz: webhook formats', () => {
  it('any JSON value: each format answers events or one of its typed errors', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORMATS), fc.jsonValue(), (format, payload) => {
        expectWellFormed(attempt(format, payload));
      }),
      RUNS,
    );
  });

  it('any value at all (not only JSON): the same', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FORMATS),
        fc.anything({ withObjectString: true, withNullPrototype: true }),
        (format, payload) => {
          expectWellFormed(attempt(format, payload));
        },
      ),
      RUNS,
    );
  });

  it('distribution envelopes with valid and hostile fields: only events of the grammar come out', () => {
    fc.assert(
      fc.property(fc.oneof(distributionBody, mangled(distributionBody)), (payload) => {
        expectWellFormed(attempt('distribution', payload));
      }),
      RUNS,
    );
  });

  it('Harbor payloads (default and CloudEvents) with valid and hostile fields: the same', () => {
    fc.assert(
      fc.property(fc.oneof(harborBody, mangled(harborBody)), (payload) => {
        expectWellFormed(attempt('harbor', payload));
      }),
      RUNS,
    );
  });

  it('a Harbor type that is not one of its four actions never makes an event', () => {
    fc.assert(
      fc.property(hostileString, harborArtifacts, (type, artifacts) => {
        fc.pre(
          !['PUSH_ARTIFACT', 'DELETE_ARTIFACT', 'harbor.artifact.pushed', 'harbor.artifact.deleted'].includes(
            type,
          ),
        );
        expect(attempt('harbor', harborPayload({ type, occurAt: 1, ...artifacts }))).toEqual({
          events: [],
          ignored: 1,
        });
      }),
      RUNS,
    );
  });

  it('raw bodies: checkBody throws only typed errors and answers exactly what JSON.parse does', () => {
    const contentType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/vnd.docker.distribution.events.v1+json; charset=utf-8',
        'application/cloudevents+json',
        'text/plain',
      ),
      hostileString,
    );
    const body = fc.oneof(
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string(),
      fc.string({ unit: 'binary' }),
    );
    fc.assert(
      fc.property(fc.option(contentType, { nil: undefined }), body, (type, text) => {
        const raw = Buffer.from(text, 'utf8');
        try {
          const parsed = checkBody({ 'content-type': type }, raw);
          expect(parsed).toEqual(JSON.parse(raw.toString('utf8')));
        } catch (error) {
          expect(error).toBeInstanceOf(WebhookError);
        }
      }),
      RUNS,
    );
  });
});
