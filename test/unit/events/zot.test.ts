import { describe, expect, it } from 'vitest';
import { MalformedPayloadError } from '../../../functions/lib/events/errors.ts';
import { parseEvents } from '../../../functions/lib/events/normalize.ts';
import { DIGEST_A } from './fixtures.ts';

/** A zot event as its CloudEvents SDK sends it by default: attributes in ce-* headers, the data as the body. */
const binary = (type: string, data: Record<string, unknown>, id = 'e0a2b1c4-1') => ({
  payload: data,
  headers: {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-type': type,
    'ce-source': 'zotregistry.dev',
    'ce-time': '2026-11-30T10:00:00Z',
    'content-type': 'application/json',
  },
});

const parse = ({ payload, headers = {} }: { payload: unknown; headers?: Record<string, string> }) =>
  parseEvents('zot', payload, { registry: 'zot-a', headers });

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('zot webhooks (CloudEvents)', () => {
  it('turns image.updated by tag into a push, with the digest, the media type and the event id', () => {
    const result = parse(
      binary('zotregistry.image.updated', {
        name: 'team-a/app',
        reference: 'v1',
        digest: DIGEST_A,
        mediaType: MANIFEST,
        manifest: '{"schemaVersion":2}',
      }),
    );

    expect(result).toEqual({
      events: [
        {
          id: 'e0a2b1c4-1',
          registry: 'zot-a',
          repository: 'team-a/app',
          tag: 'v1',
          digest: DIGEST_A,
          mediaType: MANIFEST,
          action: 'push',
          occurredAt: '2026-11-30T10:00:00Z',
        },
      ],
      ignored: 0,
    });
  });

  it('reads a structured CloudEvent (application/cloudevents+json) the same way', () => {
    const result = parse({
      payload: {
        specversion: '1.0',
        id: 'e0a2b1c4-2',
        type: 'zotregistry.image.updated',
        source: 'zotregistry.dev',
        data: { name: 'team-a/app', reference: 'v2', digest: DIGEST_A, mediaType: MANIFEST },
      },
    });

    expect(result.events).toEqual([expect.objectContaining({ id: 'e0a2b1c4-2', tag: 'v2', action: 'push' })]);
  });

  it('turns image.deleted into a delete: by tag with its digest, or by digest alone', () => {
    const byTag = parse(
      binary('zotregistry.image.deleted', {
        name: 'team-a/app',
        reference: 'v1',
        digest: DIGEST_A,
        mediaType: MANIFEST,
      }),
    );
    const byDigest = parse(
      binary('zotregistry.image.deleted', { name: 'team-a/app', reference: DIGEST_A, digest: DIGEST_A }),
    );

    expect(byTag.events).toEqual([
      expect.objectContaining({ action: 'delete', repository: 'team-a/app', tag: 'v1', digest: DIGEST_A }),
    ]);
    expect(byDigest.events).toHaveLength(1);
    expect(byDigest.events[0]).toMatchObject({ action: 'delete', digest: DIGEST_A });
    expect(byDigest.events[0]?.tag).toBeUndefined();
  });

  it('takes the type under any prefix the registry sets (typePrefix)', () => {
    const result = parse(
      binary('com.example.registry.image.updated', { name: 'team-a/app', reference: 'v1', digest: DIGEST_A }),
    );

    expect(result.events).toEqual([expect.objectContaining({ action: 'push', tag: 'v1' })]);
  });

  it('counts as ignored a push by digest (no tag), other event types and invalid names', () => {
    const results = [
      parse(
        binary('zotregistry.image.updated', { name: 'team-a/app', reference: DIGEST_A, digest: DIGEST_A }),
      ),
      parse(binary('zotregistry.repository.created', { name: 'team-a/app' })),
      parse(
        binary('zotregistry.image.lint_failed', { name: 'team-a/app', reference: 'v1', digest: DIGEST_A }),
      ),
      parse(binary('zotregistry.image.updated', { name: 'Team-A/App', reference: 'v1', digest: DIGEST_A })),
    ];

    expect(results).toEqual(results.map(() => ({ events: [], ignored: 1 })));
  });

  it('refuses (400) a body that is no CloudEvent, or an image event without its name', () => {
    expect(() => parse({ payload: { name: 'team-a/app', reference: 'v1' } })).toThrow(MalformedPayloadError);
    expect(() => parse(binary('zotregistry.image.updated', { reference: 'v1' }))).toThrow(
      /not a zot zotregistry\.image\.updated event's data: at name/,
    );
  });
});
