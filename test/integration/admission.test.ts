import { afterEach, describe, expect, it } from 'vitest';
import { isTerminal, type Job } from '../../functions/lib/jobs/job.ts';
import { pushImage } from '../support/image-builder.ts';
import { type LocalMirror, startLocalMirror } from '../support/local-runtime.ts';
import { manifestDigest, tagImage } from '../support/registry-reader.ts';
import { hookSecret } from '../support/serve-config.ts';
import { deliverNotification, postNotification, pushNotification } from '../support/webhook-payloads.ts';

/**
 * Admission (docs/architecture.md, "Admission"): a job over the limits waits parked in the
 * records, and a freed slot goes to the next job in line at once — no polling, no delays. On
 * the local runtime with real registries; the jobs are small, so the slots turn over fast.
 */

let mirror: LocalMirror | undefined;
afterEach(async () => {
  await mirror?.stop();
  mirror = undefined;
});

const at = (iso: string | undefined) => Date.parse(iso ?? '');

/**
 * How long each freed slot stood idle while a job waited for it: the k-th start after the first
 * `limit` takes the slot of the k-th end, and a job that came after that end waited for nothing.
 */
function idleSlots(jobs: Job[], limit: number): number[] {
  const starts = [...jobs].sort((x, y) => at(x.startedAt) - at(y.startedAt));
  const ends = jobs.map((job) => at(job.finishedAt)).sort((x, y) => x - y);
  return starts
    .slice(limit)
    .map((job, k) => Math.max(0, at(job.startedAt) - Math.max(ends[k] as number, at(job.createdAt))));
}

function distribution(values: number[]): string {
  const sorted = [...values].sort((x, y) => x - y);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return `p50 ${pick(0.5)} ms, p95 ${pick(0.95)} ms, max ${sorted.at(-1)} ms`;
}

/** One image at A tagged `count` times, its notifications posted to crossdock at once. */
async function burst(local: LocalMirror, repository: string, count: number) {
  const image = await pushImage(`${local.a.host}/${repository}:t0`);
  const tags = Array.from({ length: count }, (_, i) => `t${i}`);
  await tagImage({ url: local.a.url }, repository, 't0', tags.slice(1));
  const posted = Date.now();
  // As a registry delivers them: one answered 429 (past the request budget) is sent again.
  const answers = await Promise.all(
    tags.map((tag) =>
      deliverNotification(
        local.webhookUrl,
        pushNotification(local.a, repository, tag, image),
        hookSecret('a'),
      ),
    ),
  );
  expect(answers.filter((answer) => answer.status !== 202).map((answer) => answer.status)).toEqual([]);
  return { image, tags, posted };
}

describe('admission', () => {
  it('40 jobs, runningJobs 4: a freed slot goes to the next job in line at once, in arrival order; each message is received at most twice', async () => {
    const receives = new Map<string, number>();
    const woken: string[] = [];
    mirror = await startLocalMirror({
      notifications: false,
      limits: { runningJobs: 4 },
      runtime: {
        faults: {
          dispatched: (message) => {
            receives.set(message.jobId, (receives.get(message.jobId) ?? 0) + 1);
            if (message.woken) woken.push(message.jobId);
          },
        },
      },
    });

    await burst(mirror, 'team/line', 40);
    const jobs = await mirror.settled(40, 120_000);

    const idle = idleSlots(jobs, 4);
    console.log(`40 jobs, runningJobs 4: a freed slot idled ${distribution(idle)} while a job waited`);
    expect(jobs.every((job) => job.status === 'SUCCEEDED' || job.status === 'SKIPPED')).toBe(true);
    // The jobs that waited in line were woken in the order they came.
    const created = new Map(jobs.map((job) => [job.id, at(job.createdAt)]));
    expect(woken.length).toBeGreaterThan(20);
    expect(woken).toEqual([...woken].sort((x, y) => (created.get(x) ?? 0) - (created.get(y) ?? 0)));
    expect(Math.max(...receives.values())).toBeLessThanOrEqual(2);
  }, 180_000);

  it('a burst of 200 notifications, runningJobs 10: every job ends, each message received at most twice', async () => {
    const receives = new Map<string, number>();
    mirror = await startLocalMirror({
      notifications: false,
      limits: { runningJobs: 10, perDestination: 10 },
      runtime: {
        faults: {
          dispatched: (message) => receives.set(message.jobId, (receives.get(message.jobId) ?? 0) + 1),
        },
      },
    });
    const { posted } = await burst(mirror, 'team/burst', 200);

    const jobs = await mirror.settled(200, 240_000);

    const first = Math.min(...jobs.map((job) => at(job.startedAt)));
    const last = Math.max(...jobs.map((job) => at(job.finishedAt)));
    const busy = jobs.reduce((sum, job) => sum + (at(job.finishedAt) - at(job.startedAt)), 0);
    const ideal = busy / 10;
    const idle = idleSlots(jobs, 10);
    console.log(
      `burst of 200, runningJobs 10: first job started ${first - posted} ms after the burst, last ended ${((last - first) / 1000).toFixed(1)} s after the first start; ideal (job time / 10 slots) ${(ideal / 1000).toFixed(1)} s; a freed slot idled ${distribution(idle)}`,
    );
    const unsuccessful = jobs.filter((job) => job.status !== 'SUCCEEDED' && job.status !== 'SKIPPED');
    expect(
      unsuccessful.map((job) => `${job.id} ${job.status} ${job.error?.state}: ${job.error?.message}`),
    ).toEqual([]);
    expect(Math.max(...receives.values())).toBeLessThanOrEqual(2);
  }, 300_000);

  it('a push arriving during a 500-tag backfill of another policy goes ahead of the backfill’s waiting jobs', async () => {
    mirror = await startLocalMirror({
      notifications: false,
      limits: { runningJobs: 10, perDestination: 4 },
      policies: [
        {
          name: 'backfill',
          source: { registry: 'a', project: 'bulk' },
          destination: { registry: 'b', namespace: 'copy' },
          enabled: false,
        },
      ],
    });
    const { a, b, runtime } = mirror;
    await pushImage(`${a.host}/bulk/many:t0`);
    await tagImage(
      { url: a.url },
      'bulk/many',
      't0',
      Array.from({ length: 499 }, (_, i) => `t${i + 1}`),
    );
    await runtime.app.config.setPolicyEnabled('backfill', true);
    await runtime.app.apiPorts.startScan({ scanId: 'backfill-1', policy: 'backfill' });
    // Wait until the backfill fills the line.
    const deadline = Date.now() + 60_000;
    while ((await mirror.jobs('backfill')).length < 100 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const pushed = await pushImage(`${a.host}/team/app:fresh`);
    const posted = Date.now();
    await postNotification(
      mirror.webhookUrl,
      pushNotification(a, 'team/app', 'fresh', pushed),
      hookSecret('a'),
    );
    let fresh: Job | undefined;
    while (!fresh?.startedAt && Date.now() < posted + 60_000) {
      fresh = (await mirror.jobs()).find((job) => job.tag === 'fresh');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const backfill = await mirror.jobs('backfill');
    const waitingThen = backfill.filter((job) => at(job.createdAt) < at(fresh?.createdAt));
    const startedBefore = waitingThen.filter(
      (job) => at(job.startedAt) > at(fresh?.createdAt) && at(job.startedAt) < at(fresh?.startedAt),
    );
    const passed = waitingThen.filter((job) => !job.startedAt || at(job.startedAt) > at(fresh?.startedAt));
    console.log(
      `a push during a 500-tag backfill started ${at(fresh?.startedAt) - posted} ms after its notification; ` +
        `${startedBefore.length} older backfill jobs started in between (woken before it was in line), ${passed.length} older ones after it`,
    );
    // It went ahead of the backfill jobs that waited before it came…
    expect(passed.length).toBeGreaterThan(50);
    // …and only jobs already on their way into slots (no more than there are slots) started first.
    expect(startedBefore.length).toBeLessThanOrEqual(10);
    while (!isTerminal(fresh?.status ?? 'QUEUED') && Date.now() < posted + 60_000) {
      fresh = (await mirror.jobs()).find((job) => job.tag === 'fresh');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(fresh?.status).toBe('SUCCEEDED');
    expect(await manifestDigest({ url: b.url }, 'team/app', 'fresh')).toBe(pushed.digest);
  }, 300_000);
});
