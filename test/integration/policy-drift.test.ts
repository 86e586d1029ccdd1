import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '#config/schema.ts';
import type { PolicyRunView } from '../../functions/lib/api/ports.ts';
import { handleApiRequest } from '../../functions/lib/api/router.ts';
import type { DriftReport } from '../../functions/lib/drift/drift-report.ts';
import { isTerminal, type Job } from '../../functions/lib/jobs/job.ts';
import { type Runtime, startRuntime } from '../../infra/local/runtime.ts';
import {
  imageManifest,
  type PushedImage,
  pushImage,
  pushLayout,
  randomLayer,
  writeLayout,
} from '../support/image-builder.ts';
import { mirrorConfig } from '../support/mirror.ts';
import { freePort } from '../support/ports.ts';
import {
  removeTag,
  type ServedRequest,
  startRegistry,
  type TestRegistry,
} from '../support/registry-process.ts';
import { deleteManifest, listTags, manifestDigest, tagImage } from '../support/registry-reader.ts';
import { scratchDir } from '../support/tools.ts';

/**
 * Reconciliation runs against real registries that send no notifications at all: the
 * policy's schedule (or `POST /api/policies/{name}/sync`) compares A with B by HEAD and
 * repairs only the drift; the drift check shows it first and changes nothing.
 */

const POLICY = 'a-to-b';

interface Setup {
  a: TestRegistry;
  b: TestRegistry;
  runtime: Runtime;
  stop(): Promise<void>;
}

/** Registries first (so the images are there before crossdock starts), then the runtime. */
async function startSetup(
  arrange: (a: TestRegistry, b: TestRegistry) => Promise<void>,
  options: {
    policy?: Record<string, unknown>;
    registries?: { rateLimit?: { requestsPerSecond: number } };
  } = {},
): Promise<Setup> {
  const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  await arrange(a, b);
  const raw = mirrorConfig(a.url, b.url, { webhook: false, policy: options.policy ?? {} });
  const registries = (raw.registries as Record<string, unknown>[]).map((r) => ({
    ...r,
    ...options.registries,
  }));
  const config = configSchema.parse({ ...raw, registries });
  const stateDir = join(mkdtempSync(join(scratchDir(), 'crossdock-drift-')), 'state');
  const runtime = await startRuntime({
    config,
    stateDir,
    port: await freePort(),
    scheduleTickMs: 300,
    reconcile: { everyMs: 3_600_000 },
  });
  return {
    a,
    b,
    runtime,
    async stop() {
      await runtime.stop();
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}

const api = (
  runtime: Runtime,
  method: string,
  path: string,
  options: { query?: Record<string, string>; body?: unknown } = {},
) =>
  handleApiRequest(runtime.app.apiPorts, {
    method,
    path,
    query: options.query ?? {},
    headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });

async function policyJobs(runtime: Runtime): Promise<Job[]> {
  const all: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = await runtime.app.jobs.listByPolicy(POLICY, { limit: 100, cursor });
    all.push(...page.jobs);
    cursor = page.cursor;
  } while (cursor);
  return all.reverse();
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms; last seen ${JSON.stringify(value).slice(0, 2000)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

const runs = (runtime: Runtime) => runtime.app.policyRuns.list(POLICY, 20);

/** Runs a sync through the API and waits for it and the jobs it made to end. */
async function syncNow(runtime: Runtime): Promise<{ run: PolicyRunView; jobs: Job[] }> {
  const before = new Set((await policyJobs(runtime)).map((job) => job.id));
  const answer = await api(runtime, 'POST', `/api/policies/${POLICY}/sync`);
  expect(answer.statusCode).toBe(202);
  const runId = (answer.body as { run: { id: string } }).run.id;
  const run = await until(
    `run ${runId}`,
    async () => (await runs(runtime)).find((r) => r.runId === runId),
    (r) => r !== undefined && r.status !== 'running',
  );
  const jobs = await until(
    'the run’s jobs',
    async () => (await policyJobs(runtime)).filter((job) => !before.has(job.id)),
    (list) => list.every((job) => isTerminal(job.status)),
  );
  return { run: run as PolicyRunView, jobs };
}

const describeJob = (job: Job) => `${job.action} ${job.sourceRepository}:${job.tag} ${job.status}`;

describe('reconciliation runs of a policy whose source sends no notifications', () => {
  let setup: Setup;
  const pushed: Record<string, PushedImage> = {};

  beforeAll(async () => {
    setup = await startSetup(
      async (a) => {
        for (const ref of ['team/app:v1', 'team/app:v2', 'team/web:v1']) {
          pushed[ref] = await pushImage(`${a.host}/${ref}`, { layerCount: 1, layerSize: 2048 });
        }
      },
      { policy: { schedule: 'rate(1 minutes)' } },
    );
  }, 120_000);
  afterAll(() => setup?.stop());

  it('brings every tag across on its schedule, recording the run', async () => {
    // Act: the first tick finds the policy due (it never ran) and starts its run.
    const [run] = await until(
      'a scheduled run',
      () => runs(setup.runtime),
      (list) => list[0]?.status === 'finished',
    );
    await until(
      'its jobs',
      () => policyJobs(setup.runtime),
      (jobs) => jobs.length === 3 && jobs.every((j) => isTerminal(j.status)),
    );

    // Assert
    for (const [ref, image] of Object.entries(pushed)) {
      const [repository, tag] = ref.split(':') as [string, string];
      expect(await manifestDigest(setup.b, repository, tag)).toBe(image.digest);
    }
    expect(run).toMatchObject({
      trigger: 'schedule',
      status: 'finished',
      result: {
        repositories: 2,
        tagsCompared: 3,
        missing: 3,
        moved: 0,
        extra: 0,
        jobs: { push: 3, delete: 0 },
      },
    });
    expect((await policyJobs(setup.runtime)).map((job) => [job.origin, job.status])).toEqual([
      ['scan', 'SUCCEEDED'],
      ['scan', 'SUCCEEDED'],
      ['scan', 'SUCCEEDED'],
    ]);
    console.log(`scheduled run: ${JSON.stringify(run?.result)} in ${run?.durationMs} ms`);
  }, 90_000);

  it('when everything is equal, makes HEAD and list requests only: no job, no blob, no manifest read', async () => {
    // Arrange
    const marks = { a: setup.a.mark(), b: setup.b.mark() };
    const jobsBefore = (await policyJobs(setup.runtime)).length;

    // Act
    const { run, jobs } = await syncNow(setup.runtime);

    // Assert
    const served = { a: setup.a.requests(marks.a), b: setup.b.requests(marks.b) };
    const listOrHead = (r: ServedRequest) =>
      (r.method === 'HEAD' && /^\/v2\/.+\/manifests\/[^/]+$/.test(r.path)) ||
      (r.method === 'GET' && /^\/v2\/(_catalog|.+\/tags\/list)?(\?.*)?$/.test(r.path));
    console.log(
      `equal: A served ${served.a.length} (${count(served.a)}), B served ${served.b.length} (${count(served.b)}) in ${run.durationMs} ms`,
    );
    expect(served.a.filter((r) => !listOrHead(r))).toEqual([]);
    expect(served.b.filter((r) => !listOrHead(r))).toEqual([]);
    expect(served.a.filter((r) => r.method === 'HEAD')).toHaveLength(3);
    expect(jobs).toEqual([]);
    expect(await policyJobs(setup.runtime)).toHaveLength(jobsBefore);
    expect(run.result).toMatchObject({
      tagsCompared: 3,
      missing: 0,
      moved: 0,
      extra: 0,
      jobs: { push: 0, delete: 0 },
    });
  }, 60_000);

  it('shows drift made by hand at the destination, then repairs exactly that', async () => {
    // Arrange: one destination tag deleted, one moved to another image.
    removeTag(setup.b, 'team/app', 'v1');
    const other = await pushImage(`${setup.b.host}/team/app:v2`, { layerCount: 1, layerSize: 1024 });

    // Act
    const check = await api(setup.runtime, 'GET', `/api/policies/${POLICY}/drift`);
    const jobsAfterCheck = (await policyJobs(setup.runtime)).length;
    const { run, jobs } = await syncNow(setup.runtime);

    // Assert: the check lists them, changes nothing.
    expect(check.statusCode).toBe(200);
    const drift = (check.body as { drift: DriftReport }).drift;
    expect(drift).toMatchObject({
      counts: { tagsCompared: 3, missing: 1, moved: 1, extra: 0 },
      wouldCopy: 2,
      wouldDelete: 0,
      missing: [{ sourceRepository: 'team/app', tag: 'v1', sourceDigest: pushed['team/app:v1']?.digest }],
      moved: [
        {
          sourceRepository: 'team/app',
          tag: 'v2',
          sourceDigest: pushed['team/app:v2']?.digest,
          destinationDigest: other.digest,
        },
      ],
      extra: [],
    });
    expect(drift.partial).toBeUndefined();
    expect(jobsAfterCheck).toBe(3);
    // The run repairs exactly those two.
    expect(jobs.map(describeJob).sort()).toEqual([
      'push team/app:v1 SUCCEEDED',
      'push team/app:v2 SUCCEEDED',
    ]);
    expect(run.result).toMatchObject({ missing: 1, moved: 1, jobs: { push: 2, delete: 0 } });
    expect(await manifestDigest(setup.b, 'team/app', 'v1')).toBe(pushed['team/app:v1']?.digest);
    expect(await manifestDigest(setup.b, 'team/app', 'v2')).toBe(pushed['team/app:v2']?.digest);
  }, 90_000);

  it('repairs a delete at the source that no event told of only where replicateDeletes is on', async () => {
    // Arrange: the source deletes team/web:v1 (its only tag on that digest); no notification.
    await deleteManifest(setup.a, 'team/web', pushed['team/web:v1']?.digest as string);

    // Act 1: replicateDeletes off (the default).
    const kept = await syncNow(setup.runtime);

    // Assert 1: found, reported, left alone.
    expect(kept.run.result).toMatchObject({ extra: 1, extraKept: 1, jobs: { push: 0, delete: 0 } });
    expect(kept.jobs).toEqual([]);
    expect(await listTags(setup.b, 'team/web')).toEqual(['v1']);

    // Act 2: the policy changed through the API, no redeploy.
    const policy = (await api(setup.runtime, 'GET', `/api/policies/${POLICY}`)).body as { policy: object };
    const put = await api(setup.runtime, 'PUT', `/api/policies/${POLICY}`, {
      body: { ...policy.policy, replicateDeletes: true },
    });
    expect(put.statusCode).toBe(200);
    const repaired = await syncNow(setup.runtime);

    // Assert 2: one guarded delete job, and the tag is gone at B.
    expect(repaired.jobs.map(describeJob)).toEqual(['delete team/web:v1 SUCCEEDED']);
    expect(repaired.run.result).toMatchObject({ extra: 1, extraKept: 0, jobs: { push: 0, delete: 1 } });
    expect(await listTags(setup.b, 'team/web')).toEqual([]);
  }, 90_000);

  it('answers 409 for a sync while a run of the policy is going, and lists runs newest first', async () => {
    // Arrange: a run claimed and not finished.
    const claim = await setup.runtime.app.policyRuns.claim({
      policy: POLICY,
      runId: 'ZZZZZZZZZZ-held-by-test',
      trigger: 'manual',
      staleAfterMs: 3_600_000,
    });

    // Act
    const second = await api(setup.runtime, 'POST', `/api/policies/${POLICY}/sync`);
    await setup.runtime.app.policyRuns.finish(POLICY, 'ZZZZZZZZZZ-held-by-test', {
      status: 'failed',
      error: 'test',
    });
    const listed = await api(setup.runtime, 'GET', `/api/policies/${POLICY}/runs`, { query: { limit: '2' } });

    // Assert
    expect(claim.claimed).toBe(true);
    expect(second.statusCode).toBe(409);
    expect(JSON.stringify(second.body)).toContain('ZZZZZZZZZZ-held-by-test');
    expect((listed.body as { runs: PolicyRunView[] }).runs.map((r) => r.runId)[0]).toBe(
      'ZZZZZZZZZZ-held-by-test',
    );
  });
});

describe('a drift check of 1,000 tags', () => {
  const BUDGET = 100; // requests per second, each registry's rateLimit: lower than it could go, so it binds
  const TAGS = Array.from({ length: 1000 }, (_, i) => `t${String(i).padStart(4, '0')}`);
  let setup: Setup;

  beforeAll(async () => {
    // One tiny image under 1,000 tags on both sides: one skopeo push each, then manifest PUTs.
    setup = await startSetup(
      async (a, b) => {
        const layout = writeLayout(imageManifest([await randomLayer(512)]));
        await Promise.all(
          [a, b].map(async (registry) => {
            await pushLayout(layout, `${registry.host}/big/app:${TAGS[0]}`);
            await tagImage(registry, 'big/app', TAGS[0] as string, TAGS.slice(1));
          }),
        );
      },
      { policy: { project: 'big' }, registries: { rateLimit: { requestsPerSecond: BUDGET } } },
    );
  }, 300_000);
  afterAll(() => setup?.stop());

  it("compares them all within each registry's request budget, by HEAD and list requests only", async () => {
    // Arrange
    const marks = { a: setup.a.mark(), b: setup.b.mark() };
    const started = Date.now();

    // Act
    const check = await api(setup.runtime, 'GET', `/api/policies/${POLICY}/drift`);

    // Assert
    const tookMs = Date.now() - started;
    const drift = (check.body as { drift: DriftReport }).drift;
    expect(check.statusCode).toBe(200);
    expect(drift.counts).toMatchObject({
      repositories: 1,
      tagsCompared: 1000,
      missing: 0,
      moved: 0,
      extra: 0,
    });
    expect(drift.partial).toBeUndefined();
    for (const [side, registry] of [
      ['A', setup.a],
      ['B', setup.b],
    ] as const) {
      const served = registry.requests(side === 'A' ? marks.a : marks.b);
      const perSecond = perSecondCounts(served);
      console.log(
        `1,000 tags: ${side} served ${served.length} requests (${count(served)}); per second ${perSecond.join(' ')}; check took ${tookMs} ms (budget ${BUDGET}/s)`,
      );
      expect(served.filter((r) => r.method !== 'HEAD' && r.method !== 'GET')).toEqual([]);
      expect(served.filter((r) => r.method === 'HEAD')).toHaveLength(1000);
      // The limiter's promise (rate-limiter.ts): a second's worth of burst, then the budget per
      // second. The log stamps a request when it ends, so one second may hold a little more than
      // the budget; no second holds more than burst + budget, and the whole run no more than
      // the budget for each second it spanned plus one burst.
      expect(Math.max(...perSecond)).toBeLessThanOrEqual(2 * BUDGET);
      expect(served.length).toBeLessThanOrEqual(BUDGET * (perSecond.length + 1));
    }
  }, 120_000);

  it('answers a bounded, partial check when it is told to stop early', async () => {
    // Act
    const check = await api(setup.runtime, 'GET', `/api/policies/${POLICY}/drift`, {
      query: { maxTags: '100' },
    });

    // Assert
    const drift = (check.body as { drift: DriftReport }).drift;
    expect(check.statusCode).toBe(200);
    expect(drift.partial).toEqual({ reason: 'stopped after 100 tags compared' });
    expect(drift.counts.tagsCompared).toBeGreaterThanOrEqual(100);
    expect(drift.counts.tagsCompared).toBeLessThan(1000);
    console.log(`partial check: ${drift.counts.tagsCompared} tags compared in ${drift.durationMs} ms`);
  }, 60_000);
});

/** Requests served in each second, from the first to the last. */
function perSecondCounts(requests: ServedRequest[]): number[] {
  const times = requests.map((r) => r.at).filter((t): t is number => t !== undefined);
  if (times.length === 0) return [];
  const first = Math.min(...times);
  const counts = new Array(Math.floor((Math.max(...times) - first) / 1000) + 1).fill(0);
  for (const t of times) counts[Math.floor((t - first) / 1000)]++;
  return counts;
}

function count(requests: ServedRequest[]): string {
  const byMethod: Record<string, number> = {};
  for (const r of requests) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
  return Object.entries(byMethod)
    .map(([method, n]) => `${n} ${method}`)
    .join(', ');
}
