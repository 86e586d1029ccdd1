import { describe, expect, it } from 'vitest';
import { MalformedPayloadError } from '../../../functions/lib/events/errors.ts';
import { parseEvents } from '../../../functions/lib/events/normalize.ts';

const SHA256_HEX = /^[a-f0-9]{64}$/;

describe('Quay webhooks (repository push)', () => {
  const parse = (payload: unknown, receivedAt = '2026-12-01T10:00:00.000Z') =>
    parseEvents('quay', payload, { registry: 'quay-a', receivedAt });
  const push = (updatedTags: unknown) => ({
    name: 'app',
    repository: 'team-a/app',
    namespace: 'team-a',
    docker_url: 'quay.example.com/team-a/app',
    homepage: 'https://quay.example.com/repository/team-a/app',
    updated_tags: updatedTags,
  });

  it('turns a push into one push per updated tag, without a digest (the job reads it)', () => {
    const result = parse(push(['v1', 'latest']));

    expect(result).toEqual({
      events: ['v1', 'latest'].map((tag) => ({
        id: expect.stringMatching(SHA256_HEX),
        registry: 'quay-a',
        repository: 'team-a/app',
        tag,
        action: 'push',
        occurredAt: '2026-12-01T10:00:00.000Z',
      })),
      ignored: 0,
    });
  });

  it('reads the older form of updated_tags, an object of tag → image id', () => {
    const result = parse(
      push({ latest: 'b750fe79269d2ec9a3c593ef05b4332b1d1a02a62b4accb2c21d589ff2f5f2dc' }),
    );

    expect(result.events).toEqual([expect.objectContaining({ tag: 'latest', action: 'push' })]);
  });

  it('gives two deliveries of the same payload different ids: a second push of a tag is not taken for the first', () => {
    const first = parse(push(['latest']), '2026-12-01T10:00:00.000Z');
    const second = parse(push(['latest']), '2026-12-01T10:05:00.000Z');

    expect(first.events[0]?.id).not.toBe(second.events[0]?.id);
  });

  it('counts other notifications (a build, no updated_tags) and invalid tags as ignored, and refuses a body that is no object', () => {
    const build = parse({ build_id: '296ec063', repository: 'team-a/app', docker_tags: ['latest'] });
    const badTag = parse(push(['-bad']));

    expect(build).toEqual({ events: [], ignored: 1 });
    expect(badTag).toEqual({ events: [], ignored: 1 });
    expect(() => parse(['not', 'an', 'object'])).toThrow(MalformedPayloadError);
  });
});

describe('Docker Hub webhooks', () => {
  const parse = (payload: unknown) => parseEvents('dockerhub', payload, { registry: 'hub' });
  const push = (tag: string, pushedAt = 1417566161) => ({
    callback_url: 'https://registry.hub.docker.com/u/team/app/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/',
    push_data: { pushed_at: pushedAt, pusher: 'someone', tag },
    repository: { repo_name: 'team/app', name: 'app', namespace: 'team', status: 'Active' },
  });

  it('turns a push into a push of repo_name:tag at pushed_at, the same id for a redelivery', () => {
    const result = parse(push('v1'));

    expect(result).toEqual({
      events: [
        {
          id: expect.stringMatching(SHA256_HEX),
          registry: 'hub',
          repository: 'team/app',
          tag: 'v1',
          action: 'push',
          occurredAt: '2014-12-03T00:22:41.000Z',
        },
      ],
      ignored: 0,
    });
    expect(parse(push('v1')).events[0]?.id).toBe(result.events[0]?.id);
    expect(parse(push('v1', 1417566999)).events[0]?.id).not.toBe(result.events[0]?.id);
  });

  it('refuses (400) a payload without push_data.tag or repository.repo_name', () => {
    expect(() => parse({ push_data: {}, repository: { repo_name: 'team/app' } })).toThrow(
      /not a Docker Hub webhook payload: at push_data\.tag/,
    );
    expect(() => parse({ push_data: { tag: 'v1' } })).toThrow(MalformedPayloadError);
  });
});
