import { describe, expect, it } from 'vitest';
import { LocalBlobClaims } from '#replication/blob-locations.ts';
import { ReleaseWaiters } from '#replication/release-waiters.ts';

describe('LocalBlobClaims (the claims of the CLI and of serve, in this process)', () => {
  it('gives a blob’s claim to one holder at a time, and to the next once it is released', async () => {
    const claims = new LocalBlobClaims();

    expect(await claims.claim('reg', 'sha256:a', 'tag-1')).toBe(true);
    expect(await claims.claim('reg', 'sha256:a', 'tag-2')).toBe(false);
    expect(await claims.claim('reg', 'sha256:a', 'tag-1')).toBe(true);
    await claims.release('reg', 'sha256:a', 'tag-2'); // not its claim: nothing changes
    expect(await claims.claim('reg', 'sha256:a', 'tag-2')).toBe(false);
    await claims.release('reg', 'sha256:a', 'tag-1');
    expect(await claims.claim('reg', 'sha256:a', 'tag-2')).toBe(true);
  });

  it('wakes whoever waits for a claim the moment it is released, without polling', async () => {
    const claims = new LocalBlobClaims();
    await claims.claim('reg', 'sha256:b', 'tag-1');
    let woken = false;
    const waiting = claims.released('reg', 'sha256:b', new AbortController().signal).then(() => {
      woken = true;
    });

    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woken).toBe(false);
    await claims.release('reg', 'sha256:b', 'tag-1');
    await waiting;

    expect(woken).toBe(true);
    await expect(
      claims.released('reg', 'sha256:unclaimed', new AbortController().signal),
    ).resolves.toBeUndefined();
  });

  it('with a time to live, lets another take a claim its holder neither released nor renewed', async () => {
    let now = 0;
    const claims = new LocalBlobClaims({ ttlSeconds: 60, now: () => now });
    await claims.claim('reg', 'sha256:c', 'dead-job#1');
    await claims.claim('reg', 'sha256:d', 'live-job#1');
    await claims.claim('reg', 'sha256:e', 'dead-job#1');

    now = 50_000;
    expect(await claims.claim('reg', 'sha256:d', 'live-job#1')).toBe(true); // renewed
    now = 61_000;

    expect(await claims.claim('reg', 'sha256:c', 'job-2#1')).toBe(true);
    expect(await claims.claim('reg', 'sha256:d', 'job-2#1')).toBe(false);
    // Nobody holds an expired claim: a waiter does not wait for it.
    await expect(claims.released('reg', 'sha256:e', new AbortController().signal)).resolves.toBeUndefined();
  });

  it('drops the expired claims of holders that died, so a long-running serve does not keep them', async () => {
    let now = 0;
    const claims = new LocalBlobClaims({ ttlSeconds: 60, now: () => now });
    for (let i = 0; i < 1000; i++) await claims.claim('reg', `sha256:dead-${i}`, `dead-job-${i}#1`);
    await claims.claim('reg', 'sha256:live', 'live-job#1');

    now = 61_000;
    await claims.claim('reg', 'sha256:live', 'live-job#1'); // renewed
    for (let i = 0; i < 30; i++) await claims.claim('reg', `sha256:new-${i}`, `job-${i}#1`);

    expect(claims.size).toBe(31);
    expect(await claims.claim('reg', 'sha256:live', 'job-x#1')).toBe(false);
  });
});

describe('ReleaseWaiters', () => {
  it('takes off a waiter whose signal aborts, so waits no release ends leave nothing behind', async () => {
    const waiters = new ReleaseWaiters();
    const stops = Array.from({ length: 3 }, () => new AbortController());
    const waits = stops.map((stop) => waiters.wait('reg sha256:c', stop.signal));
    expect(waiters.size).toBe(1);

    for (const stop of stops) stop.abort();
    await Promise.all(waits);

    expect(waiters.size).toBe(0);
  });
});
