import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allEnded,
  allJobs,
  type CrossdockProcess,
  describeJobs,
  type JobView,
  sleep,
  waitForJobs,
} from '../support/crossdock-process.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { blobExists, manifestDigest } from '../support/registry-reader.ts';

/**
 * "Records are the truth": after kill -9 in the middle of a workload, `serve` started again on
 * the same state folder finds the unfinished jobs in the records and drives them to the end.
 * Notifications the registry could not deliver meanwhile arrive after the restart (it retries
 * them, backoff 1 s); a delivery handled but not answered before the kill makes no second job.
 * The operator's crash loop (five kills at random moments while ten images replicate) runs
 * here too: every start must succeed. Its seed is printed; CROSSDOCK_CRASH_SEED replays one.
 */

/** mulberry32: small and good enough to replay kill moments from a seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('crossdock serve: kill -9 and restart', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    mirror = await startMirror({ limits: { runningJobs: 2 } });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  it('every job of a workload interrupted by kill -9 ends after the restart, and every image arrives at B', async () => {
    const tags = ['big1', 'small1', 'big2', 'small2', 'big3', 'small3'];
    const pushes: Promise<PushedImage>[] = tags.map((tag) =>
      pushImage(
        `${a.host}/team/app:${tag}`,
        tag.startsWith('big') ? { layerCount: 2, layerSize: 24 << 20 } : {},
      ),
    );
    for (const push of pushes) push.catch(() => undefined); // awaited below

    // Kill as soon as a job with big blobs runs: it is copying, or about to.
    const deadline = Date.now() + 30_000;
    let atKill: JobView[] = [];
    while (!atKill.some((job) => job.status === 'RUNNING' && job.tag.startsWith('big'))) {
      if (Date.now() > deadline) throw new Error(`no big job ran within 30 s:\n${describeJobs(atKill)}`);
      await sleep(20);
      atKill = await allJobs(crossdock);
    }
    await crossdock.kill('SIGKILL');
    const images = await Promise.all(pushes); // A is up: pushes finish while crossdock is down
    await crossdock.restart();

    const jobs = await waitForJobs(crossdock, (all) => all.length >= tags.length && allEnded(all), {
      timeoutMs: 50_000,
    });

    expect(jobs.map((job) => job.tag).sort()).toEqual([...tags].sort());
    for (const job of jobs) expect(['SUCCEEDED', 'SKIPPED'], describeJobs([job])).toContain(job.status);
    for (const [i, tag] of tags.entries()) {
      expect(await manifestDigest({ url: b.url }, 'team/app', tag), tag).toBe(images[i]?.digest);
    }
    // A job that was running at the kill was driven on, not started as a second job.
    for (const running of atKill.filter((job) => job.status === 'RUNNING')) {
      expect(jobs.find((job) => job.id === running.id)?.status).toMatch(/SUCCEEDED|SKIPPED/);
    }
  }, 90_000);

  it('kill -9 while a job copies a big blob: after the restart the job ends and the image at B is whole', async () => {
    const tags = ['copy1', 'copy2'];
    const images = await Promise.all(
      tags.map((tag) => pushImage(`${a.host}/team/copy:${tag}`, { layerCount: 2, layerSize: 40 << 20 })),
    );

    const deadline = Date.now() + 30_000;
    let atKill: JobView[] = [];
    const copying = (job: JobView) => job.status === 'RUNNING' && job.substate === 'MountOrCopyBlobs';
    while (!atKill.some(copying)) {
      if (Date.now() > deadline) throw new Error(`no job copied within 30 s:\n${describeJobs(atKill)}`);
      await sleep(10);
      atKill = await allJobs(crossdock, 'repository=team/copy');
    }
    await crossdock.kill('SIGKILL');
    const interrupted = atKill.filter(copying).map((job) => job.id);
    await crossdock.restart();

    const jobs = await waitForJobs(crossdock, (all) => all.length >= tags.length && allEnded(all), {
      timeoutMs: 50_000,
      query: 'repository=team/copy',
    });

    expect(jobs).toHaveLength(tags.length);
    for (const job of jobs) expect(['SUCCEEDED', 'SKIPPED'], describeJobs([job])).toContain(job.status);
    for (const id of interrupted) {
      const job = jobs.find((j) => j.id === id);
      expect(job?.status, describeJobs(jobs)).toBe('SUCCEEDED');
      // It was driven again after the restart (same attempt, same execution name): from the start.
      const fetches = job?.history.filter((entry) => entry.substate === 'FetchManifest') ?? [];
      expect(fetches.length, JSON.stringify(job?.history)).toBeGreaterThan(1);
      expect(job?.attempt).toBe(1);
    }
    for (const [i, tag] of tags.entries()) {
      const image = images[i] as PushedImage;
      expect(await manifestDigest({ url: b.url }, 'team/copy', tag), tag).toBe(image.digest);
      for (const blob of image.blobs)
        expect(await blobExists({ url: b.url }, 'team/copy', blob.digest)).toBe(true);
    }
  }, 90_000);

  it('five kills at random moments while ten images replicate: every start succeeds, every image arrives whole, every job ends', async () => {
    const seed = Number(process.env.CROSSDOCK_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = seeded(seed);
    const tags = Array.from({ length: 10 }, (_, i) => `crash${i}`);
    // Pushed one after another while the kills happen, so deliveries, jobs and copies are
    // caught at every stage: some layers are big enough to be mid-copy at a kill.
    const pushing = (async () => {
      const images: PushedImage[] = [];
      for (const [i, tag] of tags.entries()) {
        images.push(
          await pushImage(`${a.host}/team/loop:${tag}`, {
            layerCount: 2,
            layerSize: i % 3 === 0 ? 12 << 20 : 256 << 10,
          }),
        );
      }
      return images;
    })();
    pushing.catch(() => undefined); // awaited below

    const kills: number[] = [];
    for (let kill = 0; kill < 5; kill++) {
      const wait = Math.floor(200 + random() * 1800);
      kills.push(wait);
      await sleep(wait);
      await crossdock.kill('SIGKILL');
      await sleep(Math.floor(random() * 300));
      await crossdock.restart(); // fails the test if serve does not come up
    }
    console.log(`crash loop: seed ${seed}, killed after ${kills.join(', ')} ms of running`);

    const images = await pushing;
    const jobs = await waitForJobs(
      crossdock,
      (all) => tags.every((tag) => all.some((job) => job.tag === tag)) && allEnded(all),
      { timeoutMs: 60_000, query: 'repository=team/loop' },
    );

    for (const job of jobs) expect(['SUCCEEDED', 'SKIPPED'], describeJobs([job])).toContain(job.status);
    for (const [i, tag] of tags.entries()) {
      const image = images[i] as PushedImage;
      expect(await manifestDigest({ url: b.url }, 'team/loop', tag), `${tag} (seed ${seed})`).toBe(
        image.digest,
      );
      for (const blob of image.blobs) {
        expect(await blobExists({ url: b.url }, 'team/loop', blob.digest), `${tag} ${blob.digest}`).toBe(
          true,
        );
      }
    }
    // Nothing is left unfinished in the whole records either.
    const everything = await allJobs(crossdock);
    expect(everything.filter((job) => job.status === 'QUEUED' || job.status === 'RUNNING')).toEqual([]);
  }, 150_000);

  it('after the recovery nothing else appears and a new push is replicated as usual', async () => {
    await sleep(2000);
    const before = await allJobs(crossdock);
    const image = await pushImage(`${a.host}/team/app:after`);

    const jobs = await waitForJobs(crossdock, (all) => all.length > before.length && allEnded(all));

    expect(jobs).toHaveLength(before.length + 1);
    expect(jobs.find((job) => job.tag === 'after')).toMatchObject({
      status: 'SUCCEEDED',
      digest: image.digest,
    });
    expect(await manifestDigest({ url: b.url }, 'team/app', 'after')).toBe(image.digest);
  });
});
