import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type CrossdockProcess, type JobView, waitForJobs } from '../support/crossdock-process.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';

/**
 * `crossdock jobs retry ID`: a job that FAILED because its destination was down (the workflow's
 * retries of RegistryUnavailableError exhausted) runs again as attempt 2 once the destination is
 * back, and succeeds; its history keeps both attempts.
 */
describe('crossdock jobs retry: a failed job runs again and succeeds', () => {
  const POLICY = 'team-to-b';
  const TERMINAL = ['SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELLED'];
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;
  let image: PushedImage;

  beforeAll(async () => {
    mirror = await startMirror({ webhook: false, policy: { name: POLICY, enabled: false } });
    ({ a, b, crossdock } = mirror);
    image = await pushImage(`${a.host}/team/app:v1`);
  });
  afterAll(() => mirror?.stop());

  it('FAILED while B is down; after B is back, retry → SUCCEEDED with attempts 1 and 2 in its history', async () => {
    await b.pause();
    const started = Date.now();
    const enable = await runCli(['policies', 'enable', POLICY, '--api', crossdock.url]);
    expect(enable.code, enable.stderr).toBe(0);

    // The workflow retries the unavailable destination with backoff, then gives up.
    const [failed] = await waitForJobs(
      crossdock,
      (jobs) => jobs.length === 1 && TERMINAL.includes(jobs[0]?.status ?? ''),
      {
        timeoutMs: 180_000,
      },
    );
    const failedAfter = Date.now() - started;
    expect(failed).toMatchObject({ policy: POLICY, tag: 'v1', status: 'FAILED', attempt: 1 });
    expect(failed?.error?.code).toBe('RegistryUnavailableError');
    const id = (failed as JobView).id;

    await b.start();
    const retry = await runCli(['jobs', 'retry', id, '--api', crossdock.url]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain(`job ${id} queued again as attempt 2`);
    const retriedAt = Date.now();

    const [done] = await waitForJobs(
      crossdock,
      (jobs) => jobs.length === 1 && jobs[0]?.attempt === 2 && TERMINAL.includes(jobs[0]?.status ?? ''),
      { timeoutMs: 60_000 },
    );
    console.log(
      `api-retry: FAILED ${failedAfter} ms after enable; SUCCEEDED ${Date.now() - retriedAt} ms after retry`,
    );
    expect(done).toMatchObject({ id, status: 'SUCCEEDED', attempt: 2 });
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBe(image.digest);

    // `jobs show --output json` is the API's record: both attempts in one history.
    const show = await runCli(['jobs', 'show', id, '--output', 'json', '--api', crossdock.url]);
    expect(show.code, show.stderr).toBe(0);
    const job = JSON.parse(show.stdout) as JobView;
    const record = await crossdock.api<{ job: JobView }>('GET', `/api/jobs/${id}`);
    expect(record.status).toBe(200);
    expect(job).toEqual(record.body.job);
    const attempt = (n: number) => job.history.filter((entry) => entry.attempt === n);
    expect(attempt(1).map((entry) => entry.status)).toEqual(expect.arrayContaining(['RUNNING', 'FAILED']));
    expect(attempt(1).map((entry) => entry.status)).not.toContain('SUCCEEDED');
    expect(attempt(2).map((entry) => entry.status)).toEqual(
      expect.arrayContaining(['QUEUED', 'RUNNING', 'SUCCEEDED']),
    );
    expect(job.history.at(-1)).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    // Attempt 1's entries all come before attempt 2's.
    const firstOfTwo = job.history.findIndex((entry) => entry.attempt === 2);
    expect(job.history.slice(firstOfTwo).every((entry) => entry.attempt === 2)).toBe(true);
    expect(job.error).toBeUndefined();

    // A succeeded job is not retried: the CLI says why, on one line, with exit 1.
    const again = await runCli(['jobs', 'retry', id, '--api', crossdock.url]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('409');
  }, 300_000);
});
