import { describe, expect, it } from 'vitest';
import { RequestBudgets } from '../../../infra/local/request-budgets.ts';

describe('request budgets', () => {
  const budget = { rate: 1, burst: 2 };

  it('lets a burst through, then refuses until time refills the bucket', () => {
    let now = 0;
    const budgets = new RequestBudgets(() => now);

    const burst = [budgets.take('a', budget), budgets.take('a', budget), budgets.take('a', budget)];
    now += 1000;
    const refilled = budgets.take('a', budget);

    expect(burst).toEqual([true, true, false]);
    expect(refilled).toBe(true);
  });

  it('keeps one bucket per key: a spent key does not spend another', () => {
    const budgets = new RequestBudgets(() => 0);
    for (let i = 0; i < 5; i++) budgets.take('unauthenticated:webhook:10.0.0.9', budget);

    expect(budgets.take('webhook:hub-a', budget)).toBe(true);
  });

  it('drops idle buckets once there are many, so a flood from many addresses cannot grow it without bound', () => {
    let now = 0;
    const budgets = new RequestBudgets(() => now);
    for (let i = 0; i < 10_000; i++) budgets.take(`client:${i}`, budget);
    now += 10_000;

    budgets.take('one-more', budget);

    expect(budgets.size).toBe(1);
  });
});
