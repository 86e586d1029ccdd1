import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRunStore } from '../../../functions/lib/stores/policy-runs.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
beforeAll(async () => {
  local = await startLocalTable();
});
afterAll(() => local.close());

const HOUR = 3_600_000;

function store() {
  let now = Date.parse('2026-01-01T10:00:00Z');
  const runs = new PolicyRunStore<{ missing: number }>(local.client, local.tableName, {
    now: () => now,
    keepDays: 30,
  });
  return { runs, advance: (ms: number) => (now += ms) };
}

describe('PolicyRunStore', () => {
  it('starts one run of a policy at a time, and the next once it finished', async () => {
    // Arrange
    const { runs, advance } = store();
    const claim = (runId: string) =>
      runs.claim({ policy: 'p1', runId, trigger: 'manual', staleAfterMs: HOUR });

    // Act
    const first = await claim('r1');
    const second = await claim('r2');
    advance(5_000);
    await runs.finish('p1', 'r1', { status: 'finished', result: { missing: 2 } });
    const third = await claim('r3');

    // Assert
    expect(first).toEqual({ claimed: true, startedAt: '2026-01-01T10:00:00.000Z' });
    expect(second).toEqual({ claimed: false, running: 'r1' });
    expect(third.claimed).toBe(true);
    expect(await runs.list('p1', 10)).toEqual([
      {
        runId: 'r3',
        policy: 'p1',
        trigger: 'manual',
        status: 'running',
        startedAt: '2026-01-01T10:00:05.000Z',
      },
      {
        runId: 'r1',
        policy: 'p1',
        trigger: 'manual',
        status: 'finished',
        startedAt: '2026-01-01T10:00:00.000Z',
        finishedAt: '2026-01-01T10:00:05.000Z',
        durationMs: 5000,
        result: { missing: 2 },
      },
    ]);
  });

  it('lets a scheduled claim start only while the last start is the one its due check read', async () => {
    const { runs, advance } = store();
    const scheduled = (runId: string, lastStartedAt: string | null) =>
      runs.claim({ policy: 'p2', runId, trigger: 'schedule', staleAfterMs: HOUR, lastStartedAt });

    const first = await scheduled('r1', null);
    await runs.finish('p2', 'r1', { status: 'finished' });
    advance(60_000);
    // A second scheduler that read "never ran" before the first one's claim.
    const late = await scheduled('r2', null);
    const next = await scheduled('r3', '2026-01-01T10:00:00.000Z');

    expect(first.claimed).toBe(true);
    expect(late.claimed).toBe(false);
    expect(next.claimed).toBe(true);
    expect((await runs.state('p2'))?.lastRunId).toBe('r3');
  });

  it('takes over from a run silent for longer than staleAfterMs (its process died)', async () => {
    const { runs, advance } = store();
    await runs.claim({ policy: 'p3', runId: 'r1', trigger: 'schedule', staleAfterMs: HOUR });

    advance(HOUR + 1);
    const takeover = await runs.claim({ policy: 'p3', runId: 'r2', trigger: 'schedule', staleAfterMs: HOUR });
    await runs.finish('p3', 'r1', { status: 'failed', error: 'late' });

    expect(takeover.claimed).toBe(true);
    expect((await runs.state('p3'))?.running).toBe('r2');
  });
});
