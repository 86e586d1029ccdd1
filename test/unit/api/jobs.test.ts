import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../../functions/lib/jobs/job.ts';
import { type ApiHarness, newJob, policy, registries, startApiHarness } from './harness.ts';

let api: ApiHarness;
/** Created oldest first: p1 QUEUED, p1 RUNNING, p2 SUCCEEDED, p1 FAILED, p2 QUEUED (other repository), p1 CANCELLED. */
let created: Job[];

beforeAll(async () => {
  api = await startApiHarness();
  await api.call('POST', '/api/registries', { body: registries.hubA });
  await api.call('POST', '/api/registries', { body: registries.dcB });
  await api.call('POST', '/api/policies', { body: { ...policy, name: 'p1' } });
  await api.call('POST', '/api/policies', { body: { ...policy, name: 'p2' } });
  await api.call('POST', '/api/policies', { body: { ...policy, name: 'off', enabled: false } });

  const queued = await api.jobs.create(newJob({ policy: 'p1' }));
  const running = await api.jobs.create(newJob({ policy: 'p1' }));
  await api.jobs.markRunning(running.id, 1, 'arn:exec:r');
  await api.jobs.setSubstate(running.id, 'MountOrCopyBlobs', { copied: 1, bytes: 2048 });
  const succeeded = await api.jobs.create(newJob({ policy: 'p2' }));
  await api.jobs.markRunning(succeeded.id, 1, 'arn:exec:s');
  await api.jobs.recordEnd(succeeded.id, 'SUCCEEDED');
  const failed = await api.jobs.create(newJob({ policy: 'p1' }));
  await api.jobs.markRunning(failed.id, 1, 'arn:exec:f');
  await api.jobs.setSubstate(failed.id, 'FetchManifest');
  await api.jobs.recordEnd(failed.id, 'FAILED', {
    error: { code: 'RegistryUnavailableError', message: 'hub-a answered 503', state: 'FetchManifest' },
  });
  const other = await api.jobs.create(
    newJob({ policy: 'p2', sourceRepository: 'team-a/other', destinationRepository: 'mirror/team-a/other' }),
  );
  const cancelled = await api.jobs.create(newJob({ policy: 'p1' }));
  await api.ports.jobs.cancel(cancelled.id);
  created = await Promise.all(
    [queued, running, succeeded, failed, other, cancelled].map(
      async (j) => (await api.jobs.get(j.id)) as Job,
    ),
  );
});
afterAll(() => api.close());

const ids = (jobs: { id: string }[]) => jobs.map((j) => j.id);
const newestFirst = (jobs: Job[]) => ids([...jobs].reverse());
const [QUEUED, RUNNING, SUCCEEDED, FAILED, OTHER, CANCELLED] = [0, 1, 2, 3, 4, 5];
const job = (index: number) => created[index] as Job;

describe('GET /api/jobs', () => {
  it('lists every job newest first when no filter is given', async () => {
    const response = await api.call('GET', '/api/jobs');

    expect(response.statusCode).toBe(200);
    expect(ids(response.body.jobs)).toEqual(newestFirst(created));
    expect(response.body.jobs).toEqual([...created].reverse());
    expect(response.body.cursor).toBeUndefined();
  });

  it('filters by policy, by status, by both, and by repository', async () => {
    const byPolicy = await api.call('GET', '/api/jobs', { query: { policy: 'p2' } });
    const byStatus = await api.call('GET', '/api/jobs', { query: { status: 'QUEUED' } });
    const both = await api.call('GET', '/api/jobs', { query: { policy: 'p1', status: 'QUEUED' } });
    const byRepository = await api.call('GET', '/api/jobs', { query: { repository: 'mirror/team-a/other' } });
    const cancelled = await api.call('GET', '/api/jobs', { query: { status: 'CANCELLED' } });

    expect(ids(byPolicy.body.jobs)).toEqual(ids([job(OTHER), job(SUCCEEDED)]));
    expect(ids(byStatus.body.jobs)).toEqual(ids([job(OTHER), job(QUEUED)]));
    expect(ids(both.body.jobs)).toEqual(ids([job(QUEUED)]));
    expect(ids(byRepository.body.jobs)).toEqual(ids([job(OTHER)]));
    expect(ids(cancelled.body.jobs)).toEqual(ids([job(CANCELLED)]));
  });

  it('pages with limit and an opaque cursor, each job once, in order', async () => {
    const queries: Record<string, string>[] = [{}, { policy: 'p1' }, { repository: 'team-a/app' }];
    for (const query of queries) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const response = await api.call('GET', '/api/jobs', {
          query: { ...query, limit: '2', ...(cursor ? { cursor } : {}) },
        });
        expect(response.statusCode).toBe(200);
        expect(response.body.jobs.length).toBeLessThanOrEqual(2);
        seen.push(...ids(response.body.jobs));
        cursor = response.body.cursor;
        pages++;
      } while (cursor !== undefined && pages < 10);

      const expected = newestFirst(created).filter((id) => {
        const j = created.find((c) => c.id === id) as Job;
        if ('policy' in query && j.policy !== query.policy) return false;
        if ('repository' in query && j.sourceRepository !== query.repository) return false;
        return true;
      });
      expect(seen).toEqual(expected);
    }
  });

  it('refuses a bad status, limit or cursor, and unknown parameters, naming each (400)', async () => {
    const bad = await api.call('GET', '/api/jobs', { query: { status: 'DONE', limit: '0', colour: 'red' } });
    const cursor = await api.call('GET', '/api/jobs', { query: { cursor: 'bm90IGEgY3Vyc29y' } });
    const page = await api.call('GET', '/api/jobs', { query: { limit: '1' } });
    const foreign = await api.call('GET', '/api/jobs', { query: { policy: 'p1', cursor: page.body.cursor } });

    expect(bad.statusCode).toBe(400);
    expect(bad.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['colour', 'status', 'limit']);
    expect(cursor.statusCode).toBe(400);
    expect(cursor.body.error.message).toMatch(/^cursor: /);
    expect(foreign.statusCode).toBe(400);
  });
});

describe('GET /api/jobs/{id}', () => {
  it('answers the record with its history and error; 404 for an unknown id', async () => {
    const response = await api.call('GET', `/api/jobs/${job(FAILED).id}`);
    const missing = await api.call('GET', '/api/jobs/nope');

    expect(response.statusCode).toBe(200);
    expect(response.body.job).toEqual(job(FAILED));
    const history = response.body.job.history.map((h: { status: string; substate?: string }) =>
      [h.status, h.substate].filter(Boolean).join(' '),
    );
    expect(history).toEqual(['QUEUED', 'RUNNING', 'RUNNING FetchManifest', 'FAILED FetchManifest']);
    expect(response.body.job.error).toEqual({
      code: 'RegistryUnavailableError',
      message: 'hub-a answered 503',
      state: 'FetchManifest',
    });
    expect(missing.statusCode).toBe(404);
  });
});

describe('cancel and retry', () => {
  it('cancels a QUEUED job at once and flags a RUNNING one (202); an ended job is a 409', async () => {
    const queued = await api.jobs.create(newJob({ policy: 'p1' }));
    const running = await api.jobs.create(newJob({ policy: 'p1' }));
    await api.jobs.markRunning(running.id, 1, 'arn:exec:c');

    const q = await api.call('POST', `/api/jobs/${queued.id}/cancel`);
    const r = await api.call('POST', `/api/jobs/${running.id}/cancel`);
    const ended = await api.call('POST', `/api/jobs/${job(SUCCEEDED).id}/cancel`);

    expect([q.statusCode, q.body.job.status]).toEqual([202, 'CANCELLED']);
    expect([r.statusCode, r.body.job.status, r.body.job.cancelRequested]).toEqual([202, 'RUNNING', true]);
    expect(ended.statusCode).toBe(409);
    expect(ended.body.error.message).toContain('SUCCEEDED');
  });

  it('refuses to retry a SUCCEEDED or RUNNING job (409) and sends nothing', async () => {
    const before = api.enqueued.length;

    const succeeded = await api.call('POST', `/api/jobs/${job(SUCCEEDED).id}/retry`);
    const running = await api.call('POST', `/api/jobs/${job(RUNNING).id}/retry`);

    expect(succeeded.statusCode).toBe(409);
    expect(succeeded.body.error.message).toBe(
      `job ${job(SUCCEEDED).id} is SUCCEEDED: only FAILED or CANCELLED jobs are retried`,
    );
    expect(running.statusCode).toBe(409);
    expect(api.enqueued.length).toBe(before);
  });

  it('retries a FAILED job as attempt 2, queued again and sent to the queue (202)', async () => {
    const failed = await api.jobs.create(newJob({ policy: 'p1' }));
    await api.jobs.markRunning(failed.id, 1, 'arn:exec:x');
    await api.jobs.recordEnd(failed.id, 'FAILED', { error: { code: 'X', message: 'broke' } });

    const response = await api.call('POST', `/api/jobs/${failed.id}/retry`);

    expect(response.statusCode).toBe(202);
    expect(response.body.job).toMatchObject({ id: failed.id, status: 'QUEUED', attempt: 2 });
    expect(response.body.job.error).toBeUndefined();
    expect(api.enqueued.at(-1)).toEqual({ jobId: failed.id, attempt: 2 });
    expect((await api.jobs.get(failed.id))?.attempt).toBe(2);
  });

  it('refuses to retry a job whose policy is disabled (409)', async () => {
    const failed = await api.jobs.create(newJob({ policy: 'off' }));
    await api.ports.jobs.cancel(failed.id);

    const response = await api.call('POST', `/api/jobs/${failed.id}/retry`);

    expect(response.statusCode).toBe(409);
    expect(response.body.error.message).toContain('disabled');
    expect((await api.jobs.get(failed.id))?.status).toBe('CANCELLED');
  });
});
