import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allEnded,
  allJobs,
  type CrossdockProcess,
  type JobView,
  waitForJobs,
} from '../support/crossdock-process.ts';
import { pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { replicationPolicy } from '../support/serve-config.ts';

/**
 * A job that cannot succeed ends FAILED with what failed and where (error.code, error.state),
 * after the workflow's retries when the failure may pass; nothing is left unfinished and nothing
 * ends in the dead-letter queue unrecorded. A FAILED job can be retried once the cause is gone.
 */

const TERMINAL = ['SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELLED'];
const query = (repository: string) => `repository=${encodeURIComponent(repository)}`;
const failed = (jobs: JobView[]) => jobs.length > 0 && jobs.every((job) => job.status === 'FAILED');

describe('crossdock serve: failures', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry; // paused during the first test
  let bPaused = false;
  let c: TestRegistry; // holds a conflicting tag
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    c = await startRegistry();
    mirror = await startMirror({
      policy: { name: 'team-to-b' },
      registries: { c: c.url },
      policies: [
        replicationPolicy({ name: 'strict-to-c', from: 'a', to: 'c', project: 'strict', override: false }),
      ],
    });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(async () => {
    // A paused registry is started again first: pause() (called by stop()) on a process that
    // already exited by a signal would wait for an exit that never comes again.
    if (bPaused) await b.start();
    await Promise.all([mirror?.stop(), c?.stop()]);
  });

  it('a stopped destination: the job retries, then ends FAILED with error.code and error.state recorded', async () => {
    await b.pause();
    bPaused = true;
    const started = Date.now();
    await pushImage(`${a.host}/team/app:v1`);

    // The ASL retries RegistryUnavailableError 4 times (2, 4, 8, 16 s, full jitter) after the
    // registry client's own retries: at most about 40 s.
    const [job] = await waitForJobs(crossdock, failed, { query: query('team/app'), timeoutMs: 85_000 });

    expect(job).toMatchObject({
      policy: 'team-to-b',
      action: 'push',
      status: 'FAILED',
      tag: 'v1',
      attempt: 1,
    });
    expect(job?.error?.code).toEqual(expect.any(String));
    expect(job?.error?.state).toBe('CheckManifest');
    expect(job?.error?.message).toEqual(expect.any(String));
    expect(job?.error?.code).not.toBe('DeadLetter');
    expect(job?.history.at(-1)).toMatchObject({ status: 'FAILED' });
    // It was retried: one try of CheckManifest gives up within 1.75 s (the registry client's own
    // 3 retries, 0.9–1.75 s); five tries take at least 4.4 s whatever the jitter.
    const ran = Date.parse(job?.finishedAt as string) - Date.parse(job?.startedAt as string);
    expect(ran).toBeGreaterThan(4000);
    expect(Date.now() - started).toBeLessThan(85_000);
  }, 100_000);

  it('the FAILED job, retried once the destination is back, SUCCEEDED as attempt 2', async () => {
    await b.start();
    bPaused = false;
    const [before] = await allJobs(crossdock, query('team/app'));
    expect(before?.status).toBe('FAILED');

    const retried = await crossdock.api<{ job: JobView }>('POST', `/api/jobs/${before?.id}/retry`);
    expect(retried.status).toBe(202);

    const [job] = await waitForJobs(crossdock, (jobs) => jobs[0]?.status === 'SUCCEEDED', {
      query: query('team/app'),
    });
    expect(job).toMatchObject({ id: before?.id, attempt: 2, status: 'SUCCEEDED' });
    expect(job?.error).toBeUndefined();
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBe(job?.digest);
  });

  it('a destination tag at another digest with override: false: FAILED at once, the destination keeps its tag', async () => {
    const theirs = await pushImage(`${c.host}/strict/app:v1`);
    const ours = await pushImage(`${a.host}/strict/app:v1`);

    const [job] = await waitForJobs(crossdock, failed, { query: query('strict/app'), timeoutMs: 20_000 });

    expect(job).toMatchObject({ policy: 'strict-to-c', status: 'FAILED', digest: ours.digest });
    expect(job?.error?.code).toMatch(/Conflict/);
    expect(job?.error?.state).toBe('CheckManifest');
    // Not retried: a conflict does not pass by waiting.
    expect(Date.parse(job?.finishedAt as string) - Date.parse(job?.startedAt as string)).toBeLessThan(2000);
    expect(await manifestDigest({ url: c.url }, 'strict/app', 'v1')).toBe(theirs.digest);
  });

  it('every job is in a terminal state in the records, none ended through the dead-letter queue', async () => {
    const jobs = await waitForJobs(crossdock, allEnded);
    expect(jobs.map((job) => job.status).every((status) => TERMINAL.includes(status))).toBe(true);
    expect(jobs.filter((job) => job.error?.code === 'DeadLetter')).toEqual([]);
    expect(crossdock.logs()).not.toContain('dead-letter queue');
  });
});
