import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanStore } from '../../../functions/lib/stores/scans.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
beforeAll(async () => {
  local = await startLocalTable();
});
afterAll(() => local.close());

describe('ScanStore', () => {
  it('lists the scans started and not finished, so a restart can start them again', async () => {
    const scans = new ScanStore(local.client, local.tableName, {
      now: () => Date.parse('2025-01-01T00:00:00Z'),
    });
    await scans.started({ scanId: 's1', policy: 'team-a' });
    await scans.started({ scanId: 's2', policy: 'team-b' });

    await scans.finished('s1');

    expect(await scans.unfinished()).toEqual([
      { scanId: 's2', policy: 'team-b', startedAt: '2025-01-01T00:00:00.000Z' },
    ]);
  });
});

describe('ScanStore, reconciliation runs', () => {
  it('keeps the kind and trigger of a sync run, so a restart runs it again as it was', async () => {
    const scans = new ScanStore(local.client, local.tableName, {
      now: () => Date.parse('2025-01-01T00:00:00Z'),
    });

    await scans.started({ scanId: 'run-1', policy: 'team-c', kind: 'sync', trigger: 'schedule' });

    expect((await scans.unfinished()).find((scan) => scan.scanId === 'run-1')).toEqual({
      scanId: 'run-1',
      policy: 'team-c',
      kind: 'sync',
      trigger: 'schedule',
      startedAt: '2025-01-01T00:00:00.000Z',
    });
  });
});
