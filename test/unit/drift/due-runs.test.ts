import { describe, expect, it } from 'vitest';
import type { PolicyConfig } from '#config/schema.ts';
import { type DueRunPorts, startDueRuns } from '../../../functions/lib/drift/due-runs.ts';

const NOW = Date.parse('2026-01-01T12:00:30Z');

const policy = (name: string, settings: Partial<PolicyConfig>): PolicyConfig => ({
  name,
  source: { registry: 'a', project: 'team' },
  destination: { registry: 'b' },
  filters: { repositories: ['**'], tags: ['**'], excludeRepositories: [], excludeTags: [] },
  replicateDeletes: false,
  override: true,
  enabled: true,
  ...settings,
});

function ports(policies: PolicyConfig[], lastStarts: Record<string, string>, busy: string[] = []) {
  const starts: [string, string | null][] = [];
  const p: DueRunPorts = {
    policies: async () => policies,
    lastStartedAt: async (name) => lastStarts[name],
    start: async (name, last) => {
      starts.push([name, last]);
      return !busy.includes(name);
    },
    now: () => NOW,
  };
  return { p, starts };
}

describe('startDueRuns: the scheduled trigger', () => {
  it('starts exactly the enabled policies whose schedule is due, with the last start its check read', async () => {
    // Arrange
    const { p, starts } = ports(
      [
        policy('never-ran', { schedule: 'rate(1 hours)' }),
        policy('due-rate', { schedule: 'rate(10 minutes)' }),
        policy('not-yet', { schedule: 'rate(10 minutes)' }),
        policy('due-cron', { schedule: '0 12 * * *' }),
        policy('no-schedule', {}),
        policy('disabled', { schedule: 'rate(1 minutes)', enabled: false }),
      ],
      {
        'due-rate': '2026-01-01T11:50:00.000Z',
        'not-yet': '2026-01-01T11:55:00.000Z',
        'due-cron': '2026-01-01T11:59:00.000Z',
      },
    );

    // Act
    const result = await startDueRuns(p);

    // Assert
    expect(starts).toEqual([
      ['never-ran', null],
      ['due-rate', '2026-01-01T11:50:00.000Z'],
      ['due-cron', '2026-01-01T11:59:00.000Z'],
    ]);
    expect(result).toEqual({ scheduled: 4, started: ['never-ran', 'due-rate', 'due-cron'], busy: [] });
  });

  it('reports a due policy whose run is still going as busy, not started twice', async () => {
    const { p } = ports(
      [policy('slow', { schedule: 'rate(1 minutes)' })],
      { slow: '2026-01-01T11:58:00.000Z' },
      ['slow'],
    );

    expect(await startDueRuns(p)).toEqual({ scheduled: 1, started: [], busy: ['slow'] });
  });
});
