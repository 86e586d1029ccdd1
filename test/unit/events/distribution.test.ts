import { describe, expect, it } from 'vitest';
import { MalformedPayloadError } from '../../../functions/lib/events/errors.ts';
import { parseEvents } from '../../../functions/lib/events/normalize.ts';
import {
  distributionBlobPush,
  distributionDelete,
  distributionEnvelope,
  distributionEvent,
  distributionPush,
} from '../../support/webhook-payloads.ts';
import { DIGEST_A, DIGEST_B, DIGEST_C } from './fixtures.ts';

const parse = (payload: unknown) => parseEvents('distribution', payload, { registry: 'hub-a' });
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe('distribution notifications', () => {
  it('turns a tagged manifest push into a push event of the configured registry', () => {
    // Act
    const result = parse(
      distributionEnvelope(
        distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
      ),
    );

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
      distributionEnvelope(
        distributionPush({ id: 'c1', repository: 'team-a/multi', digest: DIGEST_A }),
        distributionPush({ id: 'c2', repository: 'team-a/multi', digest: DIGEST_B }),
        distributionPush({
          id: 'i1',
          repository: 'team-a/multi',
          digest: DIGEST_C,
          tag: 'v1',
          mediaType: OCI_INDEX,
        }),
      ),
    );

    expect(result.events.map((e) => [e.id, e.tag, e.digest, e.mediaType])).toEqual([
      ['i1', 'v1', DIGEST_C, OCI_INDEX],
    ]);
    expect(result.ignored).toBe(2);
  });

  it('keeps both halves of a manifest delete: the digest, then each tag', () => {
    const result = parse(
      distributionEnvelope(
        distributionDelete({ id: 'd1', repository: 'team-a/app', digest: DIGEST_A }),
        distributionDelete({ id: 'd2', repository: 'team-a/app', tag: 'v1' }),
      ),
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
    [
      'a pull',
      distributionEvent({
        id: 'p',
        action: 'pull',
        target: { repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' },
      }),
    ],
    [
      'a mount',
      distributionEvent({
        id: 'm',
        action: 'mount',
        target: { repository: 'team-a/app', digest: DIGEST_A, fromRepository: 'x' },
      }),
    ],
    [
      'a blob push (octet-stream)',
      distributionBlobPush({ id: 'b1', repository: 'team-a/app', digest: DIGEST_A }),
    ],
    [
      'a layer push',
      distributionBlobPush({
        id: 'b2',
        repository: 'team-a/app',
        digest: DIGEST_A,
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      }),
    ],
    [
      'an OCI layer push',
      distributionBlobPush({
        id: 'b3',
        repository: 'team-a/app',
        digest: DIGEST_A,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      }),
    ],
    [
      'a push whose url names a blob, even with a tag',
      {
        ...distributionBlobPush({
          id: 'b4',
          repository: 'team-a/app',
          digest: DIGEST_A,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
        }),
        tag: 'v1',
      },
    ],
    [
      'a repository delete',
      distributionEvent({ id: 'r', action: 'delete', target: { repository: 'team-a/app' } }),
    ],
    [
      'an unknown action',
      distributionEvent({ id: 'u', action: 'rename', target: { repository: 'team-a/app', tag: 'v1' } }),
    ],
    ['an empty tag', distributionPush({ id: 't', repository: 'team-a/app', digest: DIGEST_A, tag: '' })],
  ])('drops %s, counting it as ignored', (_what, event) => {
    expect(parse(distributionEnvelope(event))).toEqual({ events: [], ignored: 1 });
  });

  it.each([
    [
      'an uppercase repository',
      distributionPush({ id: 'x', repository: 'Team-A/app', digest: DIGEST_A, tag: 'v1' }),
    ],
    [
      'a repository with an empty component',
      distributionPush({ id: 'x', repository: 'team-a//app', digest: DIGEST_A, tag: 'v1' }),
    ],
    [
      'a tag starting with a dot',
      distributionPush({ id: 'x', repository: 'team-a/app', digest: DIGEST_A, tag: '.v1' }),
    ],
    [
      'a tag longer than 128 characters',
      distributionPush({ id: 'x', repository: 'team-a/app', digest: DIGEST_A, tag: 'v'.repeat(129) }),
    ],
    ['a malformed digest', distributionDelete({ id: 'x', repository: 'team-a/app', digest: 'sha256:xyz' })],
  ])('counts an event with %s as ignored, never an error', (_what, event) => {
    const result = parse(
      distributionEnvelope(
        distributionPush({ id: 'ok', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
        event,
      ),
    );
    expect(result.events.map((e) => e.id)).toEqual(['ok']);
    expect(result.ignored).toBe(1);
  });

  it('takes the registry from the options, never from the payload', () => {
    const [event] = parse(
      distributionEnvelope(
        distributionPush({ id: 'e', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
      ),
    ).events;
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
