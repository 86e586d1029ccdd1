import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStore } from '../../../functions/lib/stores/deliveries.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
let now = Date.parse('2025-01-01T00:00:00Z');
let deliveries: DeliveryStore;

beforeAll(async () => {
  local = await startLocalTable();
  deliveries = new DeliveryStore(local.client, local.tableName, { now: () => now });
});
afterAll(() => local.close());

describe('DeliveryStore', () => {
  it('the same delivery twice is remembered once', async () => {
    expect(await deliveries.remember('hub-a:event-1', 3600)).toBe(true);
    expect(await deliveries.remember('hub-a:event-1', 3600)).toBe(false);
    expect(await deliveries.remember('hub-a:event-2', 3600)).toBe(true);
  });

  it('remembers a delivery once even when its copies arrive together', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => deliveries.remember('hub-a:burst', 60)),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  it('forgets a delivery after its window, before any sweep', async () => {
    expect(await deliveries.remember('hub-a:window', 60)).toBe(true);
    now += 30_000;
    expect(await deliveries.remember('hub-a:window', 60)).toBe(false);
    now += 31_000;
    expect(await deliveries.remember('hub-a:window', 60)).toBe(true);
  });
});
