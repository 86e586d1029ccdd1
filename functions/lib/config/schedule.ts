/**
 * A policy's `schedule` (docs/architecture.md, "Drift and reconciliation runs"): when its
 * source and destination are compared again. Two forms, both in UTC:
 * - `rate(N minutes)` / `rate(N hours)` (also `minute`, `hour`), as EventBridge writes them: due
 *   N after the last run started;
 * - a 5-field cron `minute hour day-of-month month day-of-week`: each field `*`, a number, a range
 *   `a-b`, a step `*\/n` or `a-b/n`, or a comma list of those; day-of-week 0–7 (0 and 7 are
 *   Sunday). Names (`MON`, `JAN`), `?`, `L` and `#` are not supported. As in Vixie cron, when
 *   both day fields are restricted a day matching either one matches.
 * No cron library is among the project's dependencies, so this is a small parser of that subset.
 */

export type Schedule =
  | { kind: 'rate'; everyMs: number; text: string }
  | {
      kind: 'cron';
      text: string;
      minutes: Set<number>;
      hours: Set<number>;
      days: Set<number>;
      months: Set<number>;
      weekdays: Set<number>;
      /** Whether day-of-month / day-of-week were restricted (not `*`): Vixie cron's OR rule. */
      daysRestricted: boolean;
      weekdaysRestricted: boolean;
    };

export class ScheduleSyntaxError extends Error {
  override name = 'ScheduleSyntaxError';
}

const RATE = /^rate\(\s*(\d+)\s+(minutes?|hours?)\s*\)$/;
const MINUTE_MS = 60_000;

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

/** The schedule, or a ScheduleSyntaxError saying what is wrong (without quoting more than the field). */
export function parseSchedule(text: string): Schedule {
  const trimmed = text.trim();
  const rate = RATE.exec(trimmed);
  if (rate) {
    const count = Number(rate[1]);
    if (count < 1) throw new ScheduleSyntaxError('a rate must be at least 1');
    const unit = (rate[2] as string).startsWith('hour') ? 60 * MINUTE_MS : MINUTE_MS;
    return { kind: 'rate', everyMs: count * unit, text: trimmed };
  }
  if (trimmed.startsWith('rate')) {
    throw new ScheduleSyntaxError('a rate is written rate(N minutes) or rate(N hours)');
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    throw new ScheduleSyntaxError(
      'must be rate(N minutes|hours) or 5 cron fields: minute hour day-of-month month day-of-week (UTC)',
    );
  }
  const [minutes, hours, days, months, weekdays] = parts.map((part, i) =>
    parseField(part, FIELDS[i] as (typeof FIELDS)[number]),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.has(7)) weekdays.add(0);
  return {
    kind: 'cron',
    text: parts.join(' '),
    minutes,
    hours,
    days,
    months,
    weekdays,
    daysRestricted: parts[2] !== '*',
    weekdaysRestricted: parts[4] !== '*',
  };
}

function parseField(text: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new ScheduleSyntaxError(`${field.name} field "${item}" is not *, N, N-M or a step /N`);
    const step = match[4] === undefined ? 1 : Number(match[4]);
    if (step < 1) throw new ScheduleSyntaxError(`${field.name} field "${item}": a step must be at least 1`);
    let from: number = field.min;
    let to: number = field.max;
    if (match[1] !== '*') {
      from = Number(match[2]);
      to = match[3] === undefined ? (match[4] === undefined ? from : field.max) : Number(match[3]);
    }
    if (from < field.min || to > field.max || from > to) {
      throw new ScheduleSyntaxError(`${field.name} field "${item}" is outside ${field.min}-${field.max}`);
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

function dayMatches(schedule: Extract<Schedule, { kind: 'cron' }>, date: Date): boolean {
  const day = schedule.days.has(date.getUTCDate());
  const weekday = schedule.weekdays.has(date.getUTCDay());
  if (schedule.daysRestricted && schedule.weekdaysRestricted) return day || weekday;
  return day && weekday;
}

/** Five years of minutes: a cron that never matches (`0 0 31 2 *`) gives up after that. */
const SEARCH_LIMIT_MS = 5 * 366 * 24 * 60 * MINUTE_MS;

/** The first time the schedule fires strictly after `after` (ms since the epoch); undefined if never. */
export function nextRun(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'rate') return after + schedule.everyMs;
  const date = new Date(Math.floor(after / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const limit = after + SEARCH_LIMIT_MS;
  // Skips whole months, days and hours that cannot match, so a search is a few hundred steps.
  while (date.getTime() <= limit) {
    if (!schedule.months.has(date.getUTCMonth() + 1)) {
      date.setUTCMonth(date.getUTCMonth() + 1, 1);
      date.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(schedule, date)) {
      date.setUTCDate(date.getUTCDate() + 1);
      date.setUTCHours(0, 0, 0, 0);
    } else if (!schedule.hours.has(date.getUTCHours())) {
      date.setUTCHours(date.getUTCHours() + 1, 0, 0, 0);
    } else if (!schedule.minutes.has(date.getUTCMinutes())) {
      date.setUTCMinutes(date.getUTCMinutes() + 1, 0, 0);
    } else {
      return date.getTime();
    }
  }
  return undefined;
}

/**
 * Whether a policy with this schedule is due at `now`, its last run having started at
 * `lastStartedAt`. A policy that never ran is due at once (its first comparison is its
 * baseline); after that, when the schedule has fired since the last start. `slackMs` lets a
 * rate be due that much early: a tick that comes every minute and a run recorded a few
 * milliseconds after its tick must not skip a `rate(1 minutes)` for a whole tick. Cron times
 * are exact minutes and get no slack (a run early by seconds would run again at the minute).
 */
export function isDue(
  schedule: Schedule,
  lastStartedAt: number | undefined,
  now: number,
  slackMs = 0,
): boolean {
  if (lastStartedAt === undefined) return true;
  const next = nextRun(schedule, lastStartedAt);
  return next !== undefined && next <= now + (schedule.kind === 'rate' ? slackMs : 0);
}
