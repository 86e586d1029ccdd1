import { describe, expect, it } from 'vitest';
import { MalformedPayloadError } from '../../../functions/lib/events/errors.ts';
import { parseEvents } from '../../../functions/lib/events/normalize.ts';
import {
  blobPush,
  DIGEST_A,
  DIGEST_B,
  DIGEST_C,
  distributionEvent,
  envelope,
  manifestDelete,
  manifestPush,
  tagDelete,
} from './fixtures.ts';

const parse = (payload: unknown) => parseEvents('distribution', payload, { registry: 'hub-a' });
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe('distribution notifications', () => {
  it('turns a tagged manifest push into a push event of the configured registry', () => {
    // Act
    const result = parse(envelope(manifestPush('e1', 'team-a/app', DIGEST_A, 'v1')));

    // Assert
    expect(result).toEqual({
      events: [
        {
          id: 'e1',
          registry: 'hub-a',
          repository: 'team-a/app',
          tag: 'v1',
          digest: DIGEST_A,
          action: 'push',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          occurredAt: '2026-11-25T04:16:15.048427042Z',
        },
      ],
      ignored: 0,
    });
  });

  it('keeps the index push and drops its tagless children pushed before it', () => {
    const result = parse(
      envelope(
        manifestPush('c1', 'team-a/multi', DIGEST_A),
        manifestPush('c2', 'team-a/multi', DIGEST_B),
        manifestPush('i1', 'team-a/multi', DIGEST_C, 'v1', OCI_INDEX),
      ),
    );

    expect(result.events.map((e) => [e.id, e.tag, e.digest, e.mediaType])).toEqual([
      ['i1', 'v1', DIGEST_C, OCI_INDEX],
    ]);
    expect(result.ignored).toBe(2);
  });

  it('keeps both halves of a manifest delete: the digest, then each tag', () => {
    const result = parse(
      envelope(manifestDelete('d1', 'team-a/app', DIGEST_A), tagDelete('d2', 'team-a/app', 'v1')),
    );

    expect(result.events).toEqual([
      expect.objectContaining({ id: 'd1', action: 'delete', repository: 'team-a/app', digest: DIGEST_A }),
      expect.objectContaining({ id: 'd2', action: 'delete', repository: 'team-a/app', tag: 'v1' }),
    ]);
    expect(result.events[0]).not.toHaveProperty('tag');
    expect(result.events[1]).not.toHaveProperty('digest');
    expect(result.ignored).toBe(0);
  });

  it.each([
    ['a pull', distributionEvent('p', 'pull', { repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' })],
    [
      'a mount',
      distributionEvent('m', 'mount', { repository: 'team-a/app', digest: DIGEST_A, fromRepository: 'x' }),
    ],
    ['a blob push (octet-stream)', blobPush('b1', 'team-a/app', DIGEST_A)],
    [
      'a layer push',
      blobPush('b2', 'team-a/app', DIGEST_A, 'application/vnd.docker.image.rootfs.diff.tar.gzip'),
    ],
    [
      'an OCI layer push',
      blobPush('b3', 'team-a/app', DIGEST_A, 'application/vnd.oci.image.layer.v1.tar+gzip'),
    ],
    [
      'a push whose url names a blob, even with a tag',
      { ...blobPush('b4', 'team-a/app', DIGEST_A, 'application/vnd.oci.image.manifest.v1+json'), tag: 'v1' },
    ],
    ['a repository delete', distributionEvent('r', 'delete', { repository: 'team-a/app' })],
    ['an unknown action', distributionEvent('u', 'rename', { repository: 'team-a/app', tag: 'v1' })],
    ['an empty tag', manifestPush('t', 'team-a/app', DIGEST_A, '')],
  ])('drops %s, counting it as ignored', (_what, event) => {
    expect(parse(envelope(event))).toEqual({ events: [], ignored: 1 });
  });

  it.each([
    ['an uppercase repository', manifestPush('x', 'Team-A/app', DIGEST_A, 'v1')],
    ['a repository with an empty component', manifestPush('x', 'team-a//app', DIGEST_A, 'v1')],
    ['a tag starting with a dot', manifestPush('x', 'team-a/app', DIGEST_A, '.v1')],
    ['a tag longer than 128 characters', manifestPush('x', 'team-a/app', DIGEST_A, 'v'.repeat(129))],
    ['a malformed digest', manifestDelete('x', 'team-a/app', 'sha256:xyz')],
  ])('counts an event with %s as ignored, never an error', (_what, event) => {
    const result = parse(envelope(manifestPush('ok', 'team-a/app', DIGEST_A, 'v1'), event));
    expect(result.events.map((e) => e.id)).toEqual(['ok']);
    expect(result.ignored).toBe(1);
  });

  it('takes the registry from the options, never from the payload', () => {
    const [event] = parse(envelope(manifestPush('e', 'team-a/app', DIGEST_A, 'v1'))).events;
    expect(event?.registry).toBe('hub-a');
    expect(JSON.stringify(event)).not.toContain('5000');
  });

  it('accepts an empty envelope', () => {
    expect(parse({ events: [] })).toEqual({ events: [], ignored: 0 });
  });

  it.each([
    [{}, /at events: /],
    [{ events: {} }, /at events: /],
    [{ events: [{ action: 'push', target: { repository: 'a' } }] }, /at events\[0\]\.id: /],
    [{ events: [{ id: 'x', action: 'push' }] }, /at events\[0\]\.target: /],
    [{ events: [{ id: 'x', action: 'push', target: {} }] }, /at events\[0\]\.target\.repository: /],
    [[], /at the top level/],
  ])('refuses %j with a 400 naming what is missing', (payload, message) => {
    expect(() => parse(payload)).toThrow(MalformedPayloadError);
    expect(() => parse(payload)).toThrow(message);
  });
});
