import { describe, expect, it } from 'vitest';
import { deliveryKey } from '../../../functions/lib/events/dedupe.ts';
import { UnsupportedFormatError, WebhookError } from '../../../functions/lib/events/errors.ts';
import {
  parseEvents,
  type RegistryEvent,
  type WebhookFormat,
} from '../../../functions/lib/events/normalize.ts';
import { distributionEnvelope, distributionPush } from '../../support/webhook-payloads.ts';
import { DIGEST_A, HARBOR_PUSH } from './fixtures.ts';

describe('parseEvents', () => {
  it('dispatches on the source format', () => {
    expect(
      parseEvents(
        'distribution',
        distributionEnvelope(
          distributionPush({ id: 'e', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
        ),
        {
          registry: 'r',
        },
      ).events,
    ).toHaveLength(1);
    expect(parseEvents('harbor', HARBOR_PUSH, { registry: 'r' }).events).toHaveLength(1);
  });

  it('answers 400 for a format it has no parser for (a record from elsewhere; the config takes none)', () => {
    const run = () => parseEvents('gitlab' as WebhookFormat, {}, { registry: 'r' });
    expect(run).toThrow(UnsupportedFormatError);
    expect(run).toThrow(WebhookError);
    expect(run).toThrow(
      'webhook format "gitlab" is not supported (supported: distribution, harbor, zot, quay, dockerhub, github)',
    );
    expect(run).toThrow(expect.objectContaining({ statusCode: 400 }));
  });
});

describe('deliveryKey', () => {
  const event: RegistryEvent = {
    id: 'e1',
    registry: 'hub-a',
    repository: 'team-a/app',
    tag: 'v1',
    digest: DIGEST_A,
    action: 'push',
  };

  it('is the registry and the event id when there is an id', () => {
    expect(deliveryKey(event)).toBe('hub-a:e1');
    expect(deliveryKey({ ...event, registry: 'hub-b' })).not.toBe(deliveryKey(event));
  });

  it('is a stable hash of the normalised event without an id', () => {
    const key = deliveryKey({ ...event, id: '' });
    expect(key).toMatch(/^hub-a:sha256:[a-f0-9]{64}$/);
    expect(deliveryKey({ ...event, id: '' })).toBe(key);
    expect(deliveryKey({ ...event, id: '', tag: 'v2' })).not.toBe(key);
    expect(deliveryKey({ ...event, id: '', action: 'delete' })).not.toBe(key);
  });
});
