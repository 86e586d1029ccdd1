import { describe, expect, it } from 'vitest';
import { JobTransitionError } from '../../../functions/lib/jobs/errors.ts';
import type { Job } from '../../../functions/lib/jobs/job.ts';
import { end, retry, setWait, startRunning } from '../../../functions/lib/jobs/transitions.ts';

const AT = '2025-01-01T00:00:00.000Z';
const job = (overrides: Partial<Job> = {}): Job => ({
  id: 'j',
  policy: 'p',
  action: 'push',
  sourceRegistry: 'a',
  sourceRepository: 'team/app',
  tag: 'v1',
  destinationRegistry: 'b',
  destinationRepository: 'team/app',
  status: 'QUEUED',
  attempt: 1,
  cancelRequested: false,
  blobs: { copied: 0, mounted: 0, present: 0 },
  bytesCopied: 0,
  createdAt: AT,
  updatedAt: AT,
  history: [],
  ...overrides,
});

describe('job transitions', () => {
  it('runs a QUEUED job, forgetting why it waited; the same execution again changes nothing', () => {
    const running = startRunning(job({ wait: { reason: 'slot', since: AT } }), 1, 'arn:1', AT)?.job as Job;
    expect(running).toMatchObject({ status: 'RUNNING', executionArn: 'arn:1', startedAt: AT });
    expect(running.wait).toBeUndefined();
    expect(startRunning(running, 1, 'arn:1', AT)).toBeUndefined();
  });

  it('refuses to run a finished job or an older attempt', () => {
    expect(() => startRunning(job({ status: 'SUCCEEDED' }), 1, 'arn', AT)).toThrow(JobTransitionError);
    expect(() => startRunning(job({ status: 'RUNNING', attempt: 2 }), 1, 'arn', AT)).toThrow(
      JobTransitionError,
    );
  });

  it('ends a job once; a final status is final', () => {
    const failed = end(job(), 'FAILED', { error: { code: 'X', message: 'x' } }, AT)?.job as Job;
    expect(failed).toMatchObject({ status: 'FAILED', finishedAt: AT, error: { code: 'X' } });
    expect(end(failed, 'SUCCEEDED', {}, AT)).toBeUndefined();
  });

  it('retries only a FAILED or CANCELLED job, as a new attempt with its counts reset', () => {
    const failed = job({ status: 'FAILED', bytesCopied: 9, error: { code: 'X', message: 'x' } });
    expect(retry(failed).job).toMatchObject({ status: 'QUEUED', attempt: 2, bytesCopied: 0 });
    expect(retry(failed).job.error).toBeUndefined();
    expect(() => retry(job({ status: 'RUNNING' }))).toThrow(JobTransitionError);
  });

  it('records a wait only on a QUEUED job and only when the reason or holder changes', () => {
    const waiting = setWait(job(), { reason: 'tag', since: AT, holder: 'h1' })?.job as Job;
    expect(waiting.wait).toEqual({ reason: 'tag', since: AT, holder: 'h1' });
    expect(setWait(waiting, { reason: 'tag', since: 'later', holder: 'h1' })).toBeUndefined();
    expect(setWait(waiting, { reason: 'tag', since: 'later', holder: 'h2' })?.job.wait).toMatchObject({
      holder: 'h2',
    });
    expect(setWait(job({ status: 'RUNNING' }), { reason: 'slot', since: AT })).toBeUndefined();
    expect(setWait(waiting, undefined)?.job.wait).toBeUndefined();
  });
});
