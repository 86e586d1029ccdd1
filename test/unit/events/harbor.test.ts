import { describe, expect, it } from 'vitest';
import { MalformedPayloadError } from '../../../functions/lib/events/errors.ts';
import { parseEvents } from '../../../functions/lib/events/normalize.ts';
import {
  DIGEST_A,
  DIGEST_B,
  DIGEST_C,
  HARBOR_CLOUDEVENT_PUSH,
  HARBOR_DELETE,
  HARBOR_PUSH,
} from './fixtures.ts';

const parse = (payload: unknown) => parseEvents('harbor', payload, { registry: 'harbor-a' });
const SHA256_HEX = /^[a-f0-9]{64}$/;

describe('Harbor webhooks', () => {
  describe('default format', () => {
    it('turns PUSH_ARTIFACT into one push per tagged resource, repo_full_name as the repository', () => {
      // Act
      const result = parse(HARBOR_PUSH);

      // Assert
      expect(result).toEqual({
        events: [
          {
            id: expect.stringMatching(SHA256_HEX),
            registry: 'harbor-a',
            repository: 'team-a/app',
            tag: 'v1',
            digest: DIGEST_A,
            action: 'push',
            occurredAt: '2025-01-21T08:03:21.000Z',
          },
        ],
        ignored: 0,
      });
    });

    it('turns DELETE_ARTIFACT into one delete per tag, each with the digest', () => {
      const { events } = parse(HARBOR_DELETE);
      expect(
        events.map(({ action, repository, tag, digest }) => ({ action, repository, tag, digest })),
      ).toEqual([
        { action: 'delete', repository: 'team-a/x/app', tag: 'v2', digest: DIGEST_B },
        { action: 'delete', repository: 'team-a/x/app', tag: 'latest', digest: DIGEST_B },
      ]);
      expect(new Set(events.map((e) => e.id)).size).toBe(2);
    });

    it('gives a redelivered payload the same ids, and another push of the tag a new one', () => {
      const first = parse(HARBOR_PUSH).events[0]?.id;
      expect(parse(structuredClone(HARBOR_PUSH)).events[0]?.id).toBe(first);
      expect(parse({ ...HARBOR_PUSH, occur_at: HARBOR_PUSH.occur_at + 1 }).events[0]?.id).not.toBe(first);
    });

    it('counts tagless resources and invalid names as ignored', () => {
      const payload = structuredClone(HARBOR_PUSH);
      payload.event_data.resources.push(
        { digest: DIGEST_B, tag: '', resource_url: 'x' },
        { digest: DIGEST_C, tag: '-bad', resource_url: 'x' },
      );
      const result = parse(payload);
      expect(result.events.map((e) => e.tag)).toEqual(['v1']);
      expect(result.ignored).toBe(2);

      const invalidRepository = structuredClone(HARBOR_PUSH);
      invalidRepository.event_data.repository.repo_full_name = 'Team-A/App';
      expect(parse(invalidRepository)).toEqual({ events: [], ignored: 1 });
    });

    it('ignores event types it does not act on, whatever their event_data', () => {
      expect(parse({ type: 'PULL_ARTIFACT', occur_at: 1, event_data: {} })).toEqual({
        events: [],
        ignored: 1,
      });
      expect(parse({ type: 'SCANNING_COMPLETED', occur_at: 1 })).toEqual({ events: [], ignored: 1 });
    });

    it.each(['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'])(
      'ignores the type %j: an inherited property of an object is no action',
      (type) => {
        expect(parse({ ...HARBOR_PUSH, type })).toEqual({ events: [], ignored: 1 });
        expect(parse({ ...HARBOR_CLOUDEVENT_PUSH, type })).toEqual({ events: [], ignored: 1 });
      },
    );

    it.each([
      [{ occur_at: 1 }, /Harbor webhook payload: at type: /],
      [{ type: 'PUSH_ARTIFACT', event_data: HARBOR_PUSH.event_data }, /at occur_at: /],
      [{ type: 'PUSH_ARTIFACT', occur_at: 1 }, /at event_data: /],
      [{ type: 'PUSH_ARTIFACT', occur_at: 1, event_data: { resources: [] } }, /at event_data\.repository: /],
      [
        { type: 'PUSH_ARTIFACT', occur_at: 1, event_data: { resources: [], repository: { name: 'app' } } },
        /at event_data\.repository\.repo_full_name: /,
      ],
    ])('refuses %j with a 400 naming what is missing', (payload, message) => {
      expect(() => parse(payload)).toThrow(MalformedPayloadError);
      expect(() => parse(payload)).toThrow(message);
    });
  });

  describe('CloudEvents format', () => {
    it('turns harbor.artifact.pushed into a push, occurredAt from time', () => {
      expect(parse(HARBOR_CLOUDEVENT_PUSH)).toEqual({
        events: [
          {
            id: expect.stringMatching(SHA256_HEX),
            registry: 'harbor-a',
            repository: 'team-a/app',
            tag: 'v3',
            digest: DIGEST_C,
            action: 'push',
            occurredAt: '2025-03-06T06:08:43Z',
          },
        ],
        ignored: 0,
      });
    });

    it('turns harbor.artifact.deleted into deletes', () => {
      const { events } = parse({ ...HARBOR_CLOUDEVENT_PUSH, type: 'harbor.artifact.deleted' });
      expect(events.map((e) => [e.action, e.tag])).toEqual([['delete', 'v3']]);
    });

    it('ignores other CloudEvent types', () => {
      expect(parse({ ...HARBOR_CLOUDEVENT_PUSH, type: 'harbor.artifact.pulled' })).toEqual({
        events: [],
        ignored: 1,
      });
    });

    it('refuses a CloudEvent without data, naming it', () => {
      const { data: _data, ...withoutData } = HARBOR_CLOUDEVENT_PUSH;
      expect(() => parse(withoutData)).toThrow(/Harbor CloudEvent: at data: /);
    });
  });
});
