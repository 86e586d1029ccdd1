import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allEnded,
  allJobs,
  type CrossdockProcess,
  type JobView,
  waitForJobs,
} from '../support/crossdock-process.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { blobExists, manifestDigest } from '../support/registry-reader.ts';

/**
 * The operator's crash loop (issue: "after a kill -9, serve can refuse to start"): `serve`
 * replicating ten images is killed with -9 at random moments five times and started again on
 * the same state folder after each kill. Every start must succeed, every image must arrive at B
 * whole, and every job must reach a final status. The seed of the kill moments is printed, so a
 * failing run can be replayed with CROSSDOCK_CRASH_SEED.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

const describeJobs = (jobs: JobView[]) =>
  jobs.map((job) => `${job.tag} ${job.status} ${job.substate ?? ''} ${job.error?.message ?? ''}`).join('\n');

describe('crossdock serve: a crash loop of kill -9 and restart', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    mirror = await startMirror({ limits: { runningJobs: 3 } });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

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
});
