import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProcessSlots } from '../../../functions/lib/jobs/process-slots.ts';
import {
  destinationScope,
  GLOBAL_SCOPE,
  type RunningSlots,
} from '../../../functions/lib/jobs/running-slots.ts';
import { LeaseStore } from '../../../functions/lib/stores/leases.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

/**
 * The running slots' rules (functions/lib/jobs/running-slots.ts), the same for both keepers:
 * the table's slot items (deployed) and one process's memory (the local runtime).
 */

let local: LocalTable;
let now = Date.parse('2025-01-01T00:00:00Z');
let run = 0;

beforeAll(async () => {
  local = await startLocalTable();
});
afterAll(() => local.close());
// Earlier tests' leases expire: each test starts with every slot free.
beforeEach(() => {
  now += 3600_000;
  run++;
});

const request = (jobId: string, destination = 'dc-b') => ({
  jobId: `${run}-${jobId}`,
  destination,
  globalLimit: 2,
  perDestinationLimit: 2,
  ttlSeconds: 600,
});

const keepers: [string, () => RunningSlots][] = [
  ['LeaseStore (the table)', () => new LeaseStore(local.client, local.tableName, { now: () => now })],
  ['ProcessSlots (this process)', () => new ProcessSlots({ now: () => now })],
];

describe.each(keepers)('%s', (_, keeper) => {
  let leases: RunningSlots;
  beforeAll(() => {
    leases = keeper();
  });

  it('never more than 2 leases with a limit of 2, even under 20 concurrent acquires', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        leases.acquire({ ...request(`job-${i}`), perDestinationLimit: 20 }),
      ),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(2);
    expect(await leases.countActive()).toBe(2);
  });

  it('limits each destination apart, and gives the global slot back when the destination is full', async () => {
    const perDestination = { perDestinationLimit: 1, globalLimit: 3 };
    expect(await leases.acquire({ ...request('a', 'dc-b'), ...perDestination })).toBe(true);
    expect(await leases.acquire({ ...request('b', 'dc-b'), ...perDestination })).toBe(false);
    expect(await leases.countActive()).toBe(1);
    expect(await leases.acquire({ ...request('c', 'dc-c'), ...perDestination })).toBe(true);
    expect(await leases.countActive('dc-b')).toBe(1);
    expect(await leases.countActive('dc-c')).toBe(1);
  });

  it('frees a slot on release, and a job that holds one keeps it rather than taking another', async () => {
    expect(await leases.acquire(request('a'))).toBe(true);
    expect(await leases.acquire(request('a'))).toBe(true);
    expect(await leases.countActive()).toBe(1);
    expect(await leases.acquire(request('b'))).toBe(true);
    expect(await leases.acquire(request('c'))).toBe(false);
    await leases.release(request('a').jobId);
    await leases.release(request('a').jobId);
    expect(await leases.acquire(request('c'))).toBe(true);
    expect(await leases.countActive()).toBe(2);
  });

  it('holds one slot per scope for a job acquired several times at once, and frees them all on release', async () => {
    const wide = { ...request('dup'), globalLimit: 8, perDestinationLimit: 8 };

    const outcomes = await Promise.all(Array.from({ length: 6 }, () => leases.acquire(wide)));

    expect(outcomes.every(Boolean)).toBe(true);
    expect(await leases.countActive()).toBe(1);
    expect(await leases.countActive('dc-b')).toBe(1);
    await leases.release(wide.jobId);
    expect(await leases.countActive()).toBe(0);
    expect(await leases.countActive('dc-b')).toBe(0);
  });

  it('clearAll frees every slot (a restart where no execution can be running)', async () => {
    expect(await leases.acquire(request('a'))).toBe(true);
    expect(await leases.acquire(request('b'))).toBe(true);

    await leases.clearAll();

    expect(await leases.countActive()).toBe(0);
    expect(await leases.acquire(request('c'))).toBe(true);
    expect(await leases.acquire(request('d'))).toBe(true);
  });

  it('shows the reconciler who holds each slot, and frees a slot only for its holder', async () => {
    expect(await leases.acquire(request('a'))).toBe(true);
    expect(await leases.acquire(request('b', 'dc-c'))).toBe(true);

    // Earlier tests' expired slots are listed too, until taken again: this test's jobs only.
    const held = (await leases.slots(['dc-b', 'dc-c'])).filter((slot) => slot.jobId.startsWith(`${run}-`));

    expect(held.map((slot) => `${slot.pk} ${slot.jobId}`).sort()).toEqual(
      [
        `lease#dest#dc-b ${request('a').jobId}`,
        `lease#dest#dc-c ${request('b').jobId}`,
        `lease#global ${request('a').jobId}`,
        `lease#global ${request('b').jobId}`,
      ].sort(),
    );
    const ofA = held.filter((slot) => slot.jobId === request('a').jobId);
    for (const slot of ofA) await leases.freeSlot(slot, request('b').jobId); // not b's: stays
    expect(await leases.countActive('dc-b')).toBe(1);
    for (const slot of ofA) await leases.freeSlot(slot, request('a').jobId);
    expect(await leases.countActive('dc-b')).toBe(0);
    expect(await leases.countActive()).toBe(1);
  });

  it('lets expired leases free themselves, and renewing keeps a lease alive', async () => {
    expect(await leases.acquire(request('a'))).toBe(true);
    expect(await leases.acquire(request('b'))).toBe(true);
    now += 500_000;
    expect(await leases.renew(request('a').jobId)).toBe(true);
    now += 200_000; // b expired 100 s ago; a was renewed
    expect(await leases.countActive()).toBe(1);
    expect(await leases.acquire(request('c'))).toBe(true);
    expect(await leases.acquire(request('d'))).toBe(false);
    // b lost its slot to c: it holds nothing now.
    expect(await leases.renew(request('b').jobId)).toBe(false);
    expect(await leases.renew('never-leased')).toBe(false);
  });
});

describe('LeaseStore when a write fails half-way (throttled)', () => {
  /** The table's client, whose sends of `command` throw a throttle from the `from`-th on, `times` times. */
  function throttling(command: string, from: number, times: number) {
    let seen = 0;
    let thrown = 0;
    return new Proxy(local.client, {
      get: (target, property) =>
        property === 'send'
          ? async (sent: { constructor: { name: string } }) => {
              if (sent.constructor.name === command && ++seen >= from && thrown < times) {
                thrown++;
                throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
              }
              return target.send(sent as never);
            }
          : Reflect.get(target, property),
    });
  }
  const held = async (jobId: string) =>
    (await new LeaseStore(local.client, local.tableName, { now: () => now }).slots(['dc-b'])).filter(
      (slot) => slot.jobId === jobId,
    );

  // Many slots free: a slot found again is found by looking for it, not by chance.
  const wide = (id: string) => ({ ...request(id), globalLimit: 20, perDestinationLimit: 20 });
  const store = (client = local.client) => new LeaseStore(client, local.tableName, { now: () => now });

  it('takes back the slot an acquire took before its next write failed, rather than a second one', async () => {
    const { jobId } = wide('a');
    await expect(store(throttling('PutCommand', 2, 1)).acquire(wide('a'))).rejects.toThrow('Rate exceeded');
    expect(await held(jobId)).toHaveLength(1); // the global slot, which no lease names

    expect(await store().acquire(wide('a'))).toBe(true);

    expect((await held(jobId)).map((slot) => slot.pk).sort()).toEqual(
      [destinationScope('dc-b'), GLOBAL_SCOPE].sort(),
    );
  });

  it('takes back both slots when its lease could not be recorded, and its release then frees them', async () => {
    const { jobId } = wide('a');
    await expect(store(throttling('PutCommand', 3, 1)).acquire(wide('a'))).rejects.toThrow('Rate exceeded');
    expect(await held(jobId)).toHaveLength(2);

    expect(await store().acquire(wide('a'))).toBe(true);
    expect(await held(jobId)).toHaveLength(2);

    expect(await store().release(jobId)).toBe(true);
    expect(await held(jobId)).toEqual([]);
  });
});
