import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedRequestBudget } from '../../../functions/lib/stores/request-budgets.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
beforeAll(async () => {
  local = await startLocalTable();
});
afterAll(() => local.close());

/** Grants by window start: how many requests each window let through. */
function perWindow(grants: number[], windowMs: number): number[] {
  const counts = new Map<number, number>();
  for (const at of grants) counts.set(at - (at % windowMs), (counts.get(at - (at % windowMs)) ?? 0) + 1);
  return [...counts.values()];
}

describe('SharedRequestBudget', () => {
  it('holds a registry’s budget across processes: two workers together never exceed it in a second', async () => {
    // Two invocations' views of one registry, as two Lambda instances would hold them. Each
    // grant is counted in the second its budget decided it in (the clock its last try read):
    // the time the caller gets to run after the grant can fall in the next second on a busy machine.
    const workers = [1, 2].map(() => {
      const clock = { last: 0 };
      const now = () => {
        clock.last = Date.now();
        return clock.last;
      };
      return { clock, budget: new SharedRequestBudget(local.client, local.tableName, 'hub', 5, { now }) };
    });
    const grants: number[] = [];

    await Promise.all(
      workers.map(async ({ clock, budget }) => {
        for (let i = 0; i < 8; i++) {
          await budget.take();
          grants.push(clock.last);
        }
      }),
    );

    expect(grants).toHaveLength(16);
    for (const count of perWindow(grants, 1000)) expect(count).toBeLessThanOrEqual(5);
  });

  it('keeps the budgets of different registries apart', async () => {
    const busy = new SharedRequestBudget(local.client, local.tableName, 'busy', 1);
    const other = new SharedRequestBudget(local.client, local.tableName, 'other', 1);
    await busy.take();

    const controller = new AbortController();
    const waiting = busy.take(controller.signal).catch((error: Error) => error.name);
    await other.take(); // not held up by busy's full window

    controller.abort();
    expect(await waiting).toBe('AbortError');
  });

  it('allows one request per two-second window at half a request per second', async () => {
    const frozen = { now: () => 1_000_000 }; // the start of a window, held still
    const slow = new SharedRequestBudget(local.client, local.tableName, 'slow', 0.5, frozen);
    await slow.take();

    const controller = new AbortController();
    const second = slow.take(controller.signal).then(
      () => 'granted',
      () => 'waited',
    );
    setTimeout(() => controller.abort(), 200);

    expect(await second).toBe('waited');
    const later = new SharedRequestBudget(local.client, local.tableName, 'slow', 0.5, {
      now: () => 1_002_000,
    });
    await later.take(); // the next window grants again
  });
});
