import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cancelPolicyJobs } from '../../../functions/lib/api/policy-jobs.ts';
import { type ApiHarness, newJob, policy, registries, startApiHarness } from './harness.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness();
  await api.call('POST', '/api/registries', { body: registries.hubA });
  await api.call('POST', '/api/registries', { body: registries.dcB });
});
afterAll(() => api.close());

beforeEach(async () => {
  for (const p of await api.config.listPolicies()) await api.config.deletePolicy(p.name);
  api.scans.length = 0;
  api.scanFailure = undefined;
});

/** A policy's jobs in each state: queued, running, succeeded; plus a queued job of another policy. */
async function jobsOfPolicy(name: string) {
  const queued = await api.jobs.create(newJob({ policy: name }));
  const running = await api.jobs.create(newJob({ policy: name }));
  await api.jobs.markRunning(running.id, 1, 'arn:exec:running');
  const done = await api.jobs.create(newJob({ policy: name }));
  await api.jobs.markRunning(done.id, 1, 'arn:exec:done');
  await api.jobs.recordEnd(done.id, 'SUCCEEDED');
  const other = await api.jobs.create(newJob({ policy: 'someone-else' }));
  return { queued, running, done, other };
}

describe('enabling a policy', () => {
  it('creating an enabled policy starts its background scan; a disabled one does not', async () => {
    const enabled = await api.call('POST', '/api/policies', { body: policy });
    const disabled = await api.call('POST', '/api/policies', {
      body: { ...policy, name: 'later', enabled: false },
    });

    expect(enabled.statusCode).toBe(201);
    expect(enabled.body.scan.id).toMatch(/^[0-9A-Z]{26}$/);
    expect(api.scans).toEqual([{ policy: 'team-a-to-dc-b', scanId: enabled.body.scan.id }]);
    expect(disabled.statusCode).toBe(201);
    expect(disabled.body.scan).toBeUndefined();
  });

  it('POST /enable answers 202 at once with a new scan; enabling again answers 200 and scans nothing', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, enabled: false } });

    const first = await api.call('POST', '/api/policies/team-a-to-dc-b/enable');
    const second = await api.call('POST', '/api/policies/team-a-to-dc-b/enable');

    expect(first.statusCode).toBe(202);
    expect(first.body.policy.enabled).toBe(true);
    expect(api.scans).toEqual([{ policy: 'team-a-to-dc-b', scanId: first.body.scan.id }]);
    expect((await api.config.getPolicy('team-a-to-dc-b'))?.enabled).toBe(true);
    expect([second.statusCode, second.body.outcome, second.body.scan]).toEqual([200, 'unchanged', undefined]);
    expect(api.scans).toHaveLength(1);
  });

  it('leaves the policy disabled when its scan cannot start (500), so that enabling again retries', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, enabled: false } });
    api.scanFailure = new Error('Lambda invoke failed');

    const response = await api.call('POST', '/api/policies/team-a-to-dc-b/enable');

    expect(response.statusCode).toBe(500);
    expect(response.body.error).toEqual({ code: 'internal', message: 'internal error' });
    expect((await api.config.getPolicy('team-a-to-dc-b'))?.enabled).toBe(false);
    expect(api.errors).toEqual([api.scanFailure]);
  });

  it('scans again when an enabled policy now covers other tags; not for an unchanged PUT', async () => {
    await api.call('POST', '/api/policies', { body: policy });

    const same = await api.call('PUT', '/api/policies/team-a-to-dc-b', { body: policy });
    const widened = await api.call('PUT', '/api/policies/team-a-to-dc-b', {
      body: { ...policy, filters: { tags: ['**'] } },
    });

    expect(same.body.outcome).toBe('unchanged');
    expect(widened.body.outcome).toBe('updated');
    expect(api.scans.map((s) => s.scanId)).toEqual([expect.any(String), widened.body.scan.id]);
  });

  it('answers 404 for an unknown policy', async () => {
    const response = await api.call('POST', '/api/policies/nope/enable');
    expect(response.statusCode).toBe(404);
  });
});

describe('disabling a policy', () => {
  it('cancels its queued jobs, asks its running ones to stop, and leaves other jobs alone', async () => {
    await api.call('POST', '/api/policies', { body: policy });
    const { queued, running, done, other } = await jobsOfPolicy('team-a-to-dc-b');

    const response = await api.call('POST', '/api/policies/team-a-to-dc-b/disable');

    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ policy: { enabled: false }, cancelled: { queued: 1, running: 1 } });
    expect(await api.jobs.get(queued.id)).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
    expect(await api.jobs.get(running.id)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(await api.jobs.get(done.id)).toMatchObject({ status: 'SUCCEEDED', cancelRequested: false });
    expect(await api.jobs.get(other.id)).toMatchObject({ status: 'QUEUED', cancelRequested: false });
    expect((await api.config.getPolicy('team-a-to-dc-b'))?.enabled).toBe(false);
  });

  it('answers 200 when nothing was running; a PUT with enabled: false cancels the same way', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, name: 'quiet' } });
    const idle = await api.call('POST', '/api/policies/quiet/disable');
    await api.call('POST', '/api/policies', { body: { ...policy, name: 'busy' } });
    const queued = await api.jobs.create(newJob({ policy: 'busy' }));

    const put = await api.call('PUT', '/api/policies/busy', {
      body: { ...policy, name: 'busy', enabled: false },
    });

    expect([idle.statusCode, idle.body.cancelled]).toEqual([200, { queued: 0, running: 0 }]);
    expect(put.body).toMatchObject({ outcome: 'updated', cancelled: { queued: 1, running: 0 } });
    expect((await api.jobs.get(queued.id))?.status).toBe('CANCELLED');
  });

  it('answers within its time budget and leaves the rest of a big cancel to a background run', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, name: 'huge' } });
    const queued = [];
    for (let i = 0; i < 150; i++) queued.push(await api.jobs.create(newJob({ policy: 'huge' })));
    api.ports.cancelBudgetMs = 0;

    const response = await api.call('POST', '/api/policies/huge/disable');
    delete api.ports.cancelBudgetMs;

    expect(response.statusCode).toBe(202);
    expect(response.body.cancelled).toEqual({ queued: 0, running: 0, pending: true });
    expect(api.scans.at(-1)).toEqual({ policy: 'huge', scanId: expect.any(String), kind: 'cancel' });
    // The background run (Crossdock.runScan) cancels them all, over several listing pages.
    expect(await cancelPolicyJobs(api.ports.jobs, 'huge')).toEqual({ queued: 150, running: 0 });
    for (const job of queued) expect((await api.jobs.get(job.id))?.status).toBe('CANCELLED');
  });

  it('deleting a policy cancels its jobs too', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, name: 'gone' } });
    const queued = await api.jobs.create(newJob({ policy: 'gone' }));

    const response = await api.call('DELETE', '/api/policies/gone');

    expect(response.body).toEqual({ deleted: 'gone', cancelled: { queued: 1, running: 0 } });
    expect((await api.jobs.get(queued.id))?.status).toBe('CANCELLED');
    expect(await api.config.getPolicy('gone')).toBeUndefined();
  });
});
