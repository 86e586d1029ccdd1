import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApiHarness, policy, registries, startApiHarness } from './harness.ts';

/**
 * `POST /api/policies/{name}/sync` and `GET /api/policies/{name}/runs|drift` over the real
 * run records: a sync is a background run of kind `sync` (recorded like a scan), one at a time
 * per policy. The drift check itself runs against real registries (test/integration/policy-drift.test.ts).
 */
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
});

describe('policy reconciliation runs through the API', () => {
  it('starts a sync in the background and answers its run id; a second one waits for the first', async () => {
    // Arrange
    await api.call('POST', '/api/policies', {
      body: { ...policy, name: 'p-sync', schedule: 'rate(5 minutes)' },
    });
    api.scans.length = 0;

    // Act
    const first = await api.call('POST', '/api/policies/p-sync/sync');
    const second = await api.call('POST', '/api/policies/p-sync/sync');
    const runs = await api.call('GET', '/api/policies/p-sync/runs');

    // Assert
    expect(first.statusCode).toBe(202);
    expect(first.body.run).toEqual({ id: 'run-1', policy: 'p-sync', trigger: 'manual' });
    expect(api.scans).toEqual([{ policy: 'p-sync', scanId: 'run-1', kind: 'sync', trigger: 'manual' }]);
    expect(second.statusCode).toBe(409);
    expect(second.body.error.message).toContain('has a run going (run-1)');
    expect(runs.body.runs).toEqual([
      expect.objectContaining({ runId: 'run-1', trigger: 'manual', status: 'running' }),
    ]);
  });

  it('keeps a policy schedule changed through the API, and scans nothing for it', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, name: 'p-sched' } });
    api.scans.length = 0;

    const put = await api.call('PUT', '/api/policies/p-sched', {
      body: { ...policy, name: 'p-sched', schedule: '*/10 * * * *' },
    });
    const bad = await api.call('PUT', '/api/policies/p-sched', {
      body: { ...policy, name: 'p-sched', schedule: 'hourly' },
    });

    expect(put.statusCode).toBe(200);
    expect(put.body.policy.schedule).toBe('*/10 * * * *');
    expect(api.scans).toEqual([]);
    expect(bad.statusCode).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('schedule');
  });

  it('refuses to sync a disabled policy (409) and answers 404 for an unknown one', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, name: 'p-off', enabled: false } });

    const disabled = await api.call('POST', '/api/policies/p-off/sync');
    const unknown = await api.call('POST', '/api/policies/nope/sync');
    const unknownDrift = await api.call('GET', '/api/policies/nope/drift');
    const unknownRuns = await api.call('GET', '/api/policies/nope/runs');

    expect(disabled.statusCode).toBe(409);
    expect([unknown.statusCode, unknownDrift.statusCode, unknownRuns.statusCode]).toEqual([404, 404, 404]);
    expect(api.scans).toEqual([]);
  });

  it('answers 400 for a drift check limit or tag budget out of range', async () => {
    await api.call('POST', '/api/policies', { body: { ...policy, name: 'p-q' } });

    const limit = await api.call('GET', '/api/policies/p-q/drift', { query: { limit: '5000' } });
    const maxTags = await api.call('GET', '/api/policies/p-q/drift', { query: { maxTags: '0' } });

    expect([limit.statusCode, maxTags.statusCode]).toEqual([400, 400]);
    expect(limit.body.error.issues).toEqual([
      { path: 'limit', message: 'must be a whole number from 0 to 1000' },
    ]);
  });
});
