import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEnded, type CrossdockProcess, type JobView, waitForJobs } from '../support/crossdock-process.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { HOOK_SECRET, type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { postNotification, pushNotification } from '../support/webhook-payloads.ts';

/**
 * `limits.runningJobs` caps the jobs running at once; a job not admitted waits on the queue
 * (never in the dead-letter queue) and runs later.
 */

const RUNNING_JOBS = 2;
const TAGS = 8;

/** The most jobs whose [startedAt, finishedAt] intervals overlap at any instant (an end before a start at the same ms). */
function maxOverlap(jobs: JobView[]): number {
  const points = jobs
    .filter((job) => job.startedAt !== undefined)
    .flatMap((job) => [
      { at: Date.parse(job.startedAt as string), delta: 1 },
      { at: Date.parse(job.finishedAt ?? new Date().toISOString()), delta: -1 },
    ])
    .sort((x, y) => x.at - y.at || x.delta - y.delta);
  let running = 0;
  let most = 0;
  for (const point of points) {
    running += point.delta;
    most = Math.max(most, running);
  }
  return most;
}

describe('crossdock serve: limits.runningJobs', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    mirror = await startMirror({ limits: { runningJobs: RUNNING_JOBS } });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  it(`${TAGS} pushes at once: never more than ${RUNNING_JOBS} jobs RUNNING together, and every job SUCCEEDED`, async () => {
    const tags = Array.from({ length: TAGS }, (_, i) => `v${i + 1}`);
    const images = await Promise.all(
      tags.map((tag) => pushImage(`${a.host}/team/app:${tag}`, { layerCount: 2, layerSize: 2 << 20 })),
    );

    const jobs = await waitForJobs(crossdock, (all) => all.length >= TAGS && allEnded(all), {
      timeoutMs: 50_000,
    });

    expect(jobs).toHaveLength(TAGS);
    expect(jobs.map((job) => job.status)).toEqual(Array(TAGS).fill('SUCCEEDED'));
    expect(maxOverlap(jobs)).toBeLessThanOrEqual(RUNNING_JOBS);
    // The limit is a limit, not a queue of one: the slots were used.
    expect(maxOverlap(jobs)).toBe(RUNNING_JOBS);
    for (const [i, tag] of tags.entries()) {
      expect(await manifestDigest({ url: b.url }, 'team/app', tag)).toBe(images[i]?.digest);
    }
  });
});

/**
 * A registry retries a delivery it saw no answer for, so the same notification can arrive
 * several times at once. The job it makes is one job, and when it ends its running slots are
 * free again: duplicates must not leave slots behind, or the limit shrinks for hours (a slot
 * expires only after the execution timeout).
 */
describe('crossdock serve: duplicate deliveries leave no running slot behind', () => {
  let mirror: Mirror;
  let a: TestRegistry; // sends no notifications: the test posts them, as A
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    mirror = await startMirror({
      notifications: false,
      limits: { runningJobs: RUNNING_JOBS, perDestination: RUNNING_JOBS },
    });
    ({ a, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  /** Posts the registry's notification of `image` at `repository:tag`, `times` times at once. */
  async function deliver(repository: string, tag: string, image: PushedImage, times: number): Promise<void> {
    const body = pushNotification(a, repository, tag, image);
    const answers = await Promise.all(
      Array.from({ length: times }, () => postNotification(`${crossdock.url}/webhooks/a`, body, HOOK_SECRET)),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses).toEqual(Array(times).fill(202));
  }

  it(`after bursts of duplicate deliveries, ${RUNNING_JOBS} jobs still run at once and all succeed`, async () => {
    // Three deliveries, each arriving 5 times at once; each makes one job, which ends.
    for (const tag of ['dup1', 'dup2', 'dup3']) {
      const image = await pushImage(`${a.host}/team/dup:${tag}`);
      await deliver('team/dup', tag, image, 5);
      const jobs = await waitForJobs(
        crossdock,
        (all) => all.some((job) => job.tag === tag) && allEnded(all),
        {
          query: 'repository=team/dup',
        },
      );
      expect(jobs.filter((job) => job.tag === tag)).toHaveLength(1);
    }

    // Then a workload: with every slot free again it runs RUNNING_JOBS at a time.
    const tags = ['w1', 'w2', 'w3', 'w4'];
    const images = await Promise.all(
      tags.map((tag) => pushImage(`${a.host}/team/work:${tag}`, { layerCount: 2, layerSize: 4 << 20 })),
    );
    await Promise.all(tags.map((tag, i) => deliver('team/work', tag, images[i] as PushedImage, 1)));

    const jobs = await waitForJobs(crossdock, (all) => all.length === tags.length && allEnded(all), {
      query: 'repository=team/work',
      timeoutMs: 30_000,
    });
    expect(jobs.map((job) => job.status)).toEqual(Array(tags.length).fill('SUCCEEDED'));
    expect(maxOverlap(jobs)).toBe(RUNNING_JOBS);
  });
});
