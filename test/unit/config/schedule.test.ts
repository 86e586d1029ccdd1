import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load.ts';
import { isDue, nextRun, parseSchedule, ScheduleSyntaxError } from '#config/schedule.ts';
import { issuesOf, TWO_REGISTRIES } from './fixtures.ts';

const at = (iso: string) => Date.parse(iso);
const next = (schedule: string, after: string) => {
  const time = nextRun(parseSchedule(schedule), at(after));
  return time === undefined ? undefined : new Date(time).toISOString();
};

describe('policy schedules', () => {
  describe('rate(N minutes|hours)', () => {
    it('is due N after the last start, and at once when it never ran', () => {
      // Arrange
      const every5 = parseSchedule('rate(5 minutes)');
      const last = at('2026-01-01T10:00:00Z');

      // Act / Assert
      expect(isDue(every5, undefined, last)).toBe(true);
      expect(isDue(every5, last, last + 4 * 60_000)).toBe(false);
      expect(isDue(every5, last, last + 5 * 60_000)).toBe(true);
      expect(next('rate(2 hours)', '2026-01-01T10:00:00Z')).toBe('2026-01-01T12:00:00.000Z');
      expect(parseSchedule('rate(1 minute)')).toMatchObject({ kind: 'rate', everyMs: 60_000 });
      expect(parseSchedule('rate(1 minutes)')).toMatchObject({ kind: 'rate', everyMs: 60_000 });
    });

    it('lets a rate be due a little early (a tick late by milliseconds), never a cron', () => {
      const last = at('2026-01-01T10:00:00.005Z');
      const tick = at('2026-01-01T10:01:00.000Z');

      expect(isDue(parseSchedule('rate(1 minutes)'), last, tick, 5_000)).toBe(true);
      expect(isDue(parseSchedule('rate(1 minutes)'), last, tick)).toBe(false);
      expect(isDue(parseSchedule('1 10 * * *'), at('2026-01-01T10:00:50Z'), tick - 5_000, 5_000)).toBe(false);
    });
  });

  describe('5-field cron, UTC', () => {
    it.each([
      ['*/15 * * * *', '2026-01-01T10:07:30Z', '2026-01-01T10:15:00.000Z'],
      ['0 3 * * *', '2026-01-01T03:00:00Z', '2026-01-02T03:00:00.000Z'],
      ['30 9 * * 1-5', '2026-01-02T09:30:00Z', '2026-01-05T09:30:00.000Z'], // Fri → Mon
      ['0 0 1 */3 *', '2026-01-15T00:00:00Z', '2026-04-01T00:00:00.000Z'],
      ['5,10 8-9 * * 7', '2026-01-03T00:00:00Z', '2026-01-04T08:05:00.000Z'], // 7 is Sunday
      ['0 12 13 * 5', '2026-01-01T00:00:00Z', '2026-01-02T12:00:00.000Z'], // day 13 OR Friday
      ['0 0 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ])('%s after %s fires at %s', (schedule, after, expected) => {
      expect(next(schedule, after)).toBe(expected);
    });

    it('never fires for a date that does not exist', () => {
      expect(next('0 0 31 2 *', '2026-01-01T00:00:00Z')).toBeUndefined();
      expect(isDue(parseSchedule('0 0 31 2 *'), 0, Date.now())).toBe(false);
    });

    it('is due once the schedule has fired since the last start', () => {
      const hourly = parseSchedule('0 * * * *');
      const last = at('2026-01-01T10:00:20Z');

      expect(isDue(hourly, last, at('2026-01-01T10:59:59Z'))).toBe(false);
      expect(isDue(hourly, last, at('2026-01-01T11:00:30Z'))).toBe(true);
    });

    it.each([
      ['* * * *', /5 cron fields/],
      ['60 * * * *', /minute field "60" is outside 0-59/],
      ['* * 0 * *', /day-of-month field "0"/],
      ['* * * JAN *', /month field "JAN"/],
      ['*/0 * * * *', /step must be at least 1/],
      ['5-1 * * * *', /outside/],
      ['rate(5 days)', /rate\(N minutes\)/],
      ['rate(0 minutes)', /at least 1/],
    ])('refuses %s', (schedule, message) => {
      expect(() => parseSchedule(schedule)).toThrow(ScheduleSyntaxError);
      expect(() => parseSchedule(schedule)).toThrow(message);
    });
  });

  it('is a policy setting of the config, checked when the config is read', () => {
    const policy = (schedule: string) =>
      `${TWO_REGISTRIES}policies:\n  - { name: p, source: { registry: hub-a, project: team-a }, destination: { registry: dc-b }, schedule: "${schedule}" }\n`;

    expect(parseConfig(policy('rate(10 minutes)'), { env: {} }).policies[0]?.schedule).toBe(
      'rate(10 minutes)',
    );
    expect(issuesOf(() => parseConfig(policy('61 * * * *'), { env: {} }))).toEqual([
      'policies[0].schedule: minute field "61" is outside 0-59',
    ]);
  });
});
