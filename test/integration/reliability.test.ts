import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../functions/lib/jobs/job.ts';
import { startThrottlingProxy, type ThrottlingProxy } from '../support/fault-proxy.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { type LocalMirror, startLocalMirror } from '../support/local-runtime.ts';
import { manifestDigest } from '../support/registry-reader.ts';

/**
 * The pipeline under AWS's limits and AWS's faults, on the local runtime that enforces the
 * limits the stack deploys (docs/reliability.md), with real registries. The limits are shrunk
 * so each test reaches them in seconds: a copy pool of 2, a copy timeout of 3 s, a dispatcher
 * timeout of 1 s.
 */

const MiB = 1024 * 1024;
let mirror: LocalMirror | undefined;
let proxy: ThrottlingProxy | undefined;
afterEach(async () => {
  await mirror?.stop();
  await proxy?.stop();
  mirror = undefined;
  proxy = undefined;
});

const states = (jobs: Job[]) => jobs.map((job) => `${job.tag}:${job.status}`);

describe('the local runtime keeps AWS’s limits, and the pipeline survives them', () => {
  it('a copy pool of 2 under runningJobs 4 × blobsPerJob 4: throttled copies are retried, and every job succeeds', async () => {
    mirror = await startLocalMirror({
      limits: { runningJobs: 4, perDestination: 4, blobsPerJob: 4 },
      runtime: { limits: { transferConcurrency: 2 } },
    });
    const { a, b, runtime } = mirror;
    const tags = Array.from({ length: 8 }, (_, i) => `pool${i}`);

    // Over FetchManifest's 32 MiB: each image's layers go to the copy function, in two lanes (a
    // third or fourth would not save what a lane costs: lanes.ts) — 4 jobs × 2 lanes on a pool of 2.
    const images = await Promise.all(
      tags.map((tag) => pushImage(`${a.host}/team/pool:${tag}`, { layerCount: 4, layerSize: 9 * MiB })),
    );
    const jobs = await mirror.settled(tags.length, 240_000);

    const { throttles, invocations } = runtime.functions.MountOrCopyBlobs?.stats ?? {
      throttles: 0,
      invocations: 0,
    };
    console.log(`copy pool of 2: ${throttles} throttled invocations retried, ${invocations} ran`);
    expect(throttles).toBeGreaterThan(0);
    expect(states(jobs).filter((state) => !state.endsWith(':SUCCEEDED'))).toEqual([]);
    for (const [i, tag] of tags.entries()) {
      expect(await manifestDigest({ url: b.url }, 'team/pool', tag), tag).toBe(images[i]?.digest);
    }
  }, 300_000);

  it('a copy timeout of 3 s on a throttled link: a 256 MiB blob arrives over several invocations, none from byte 0', async () => {
    mirror = await startLocalMirror({
      runtime: { limits: { functionTimeouts: { MountOrCopyBlobs: 3 } } },
      destination: async (b) => {
        proxy = await startThrottlingProxy(b, 40 * MiB);
        return proxy.url;
      },
    });
    const { a, b, runtime } = mirror;
    const image: PushedImage = await pushImage(`${a.host}/team/huge:v1`, {
      layerCount: 1,
      layerSize: 256 * MiB,
    });
    const layer = image.blobs.reduce((big, blob) => (blob.size > big.size ? blob : big));

    // The offsets each invocation handed to the next, as the job's record keeps them.
    const offsets: number[] = [];
    let settled = false;
    const watching = (async () => {
      while (!settled) {
        const [job] = await mirror.jobs();
        const offset = Object.values(job?.lanes ?? {})[0]?.upload?.offset;
        if (offset !== undefined && offsets.at(-1) !== offset) offsets.push(offset);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const jobs = await mirror.settled(1, 180_000).finally(() => {
      settled = true;
    });
    await watching;

    const copies = runtime.functions.MountOrCopyBlobs?.stats;
    console.log(
      `256 MiB over a 40 MiB/s link, 3 s per copy invocation: ${copies?.invocations} invocations, ${copies?.timeouts} timed out; resumed at ${offsets.map((o) => `${(o / MiB).toFixed(1)} MiB`).join(', ')}; ${((proxy?.bytesUp() ?? 0) / MiB).toFixed(1)} MiB sent to B`,
    );
    expect(jobs[0]?.status).toBe('SUCCEEDED');
    expect(await manifestDigest({ url: b.url }, 'team/huge', 'v1')).toBe(image.digest);
    expect(offsets.length).toBeGreaterThanOrEqual(2);
    expect(offsets.every((offset, i) => offset > 0 && (i === 0 || offset > (offsets[i - 1] as number)))).toBe(
      true,
    );
    expect(copies?.timeouts).toBe(0);
    // Nothing was sent twice: the bytes through the link are the blob's, and a little HTTP.
    expect(proxy?.bytesUp()).toBeLessThan(layer.size * 1.01 + 4 * MiB);
  }, 300_000);

  it('lost messages — a send after the record was written, a handover’s send — are repaired by the reconciler', async () => {
    const dropped = new Set<string>();
    let pick: (job: Job) => boolean = () => false;
    mirror = await startLocalMirror({
      runtime: {
        reconcile: { everyMs: 500, staleAfterMs: 1500 },
        faults: {
          // The first message of each picked job is lost.
          dropSend: async (message) => {
            const job = await mirror?.runtime.app.jobs.get(message.jobId);
            if (!job || dropped.has(job.id) || !pick(job)) return false;
            dropped.add(job.id);
            return true;
          },
        },
      },
      destination: async (b) => {
        proxy = await startThrottlingProxy(b, 8 * MiB);
        return proxy.url;
      },
    });
    const { a, b } = mirror;
    // The second push of `handover` waits for the first (a slow copy); its handover's send is lost.
    pick = (job) =>
      job.tag === 'lost' || (job.tag === 'handover' && job.history.some((e) => e.note?.startsWith('waits')));
    const lost = await pushImage(`${a.host}/team/app:lost`);
    const first = await pushImage(`${a.host}/team/app:handover`, { layerCount: 1, layerSize: 16 * MiB });
    const second = await pushImage(`${a.host}/team/app:handover`);

    const jobs = await mirror.settled(3, 120_000);

    // The second `handover` job may find its digest already at B (the first job copies the tag
    // as it is at the source by then): SKIPPED is as good as SUCCEEDED.
    expect(states(jobs).map((state) => state.replace('SKIPPED', 'SUCCEEDED'))).toEqual([
      'lost:SUCCEEDED',
      'handover:SUCCEEDED',
      'handover:SUCCEEDED',
    ]);
    expect(dropped.size).toBe(2);
    for (const id of dropped) {
      const job = jobs.find((j) => j.id === id);
      expect(
        job?.history.map((e) => e.note ?? ''),
        job?.tag,
      ).toContainEqual(expect.stringMatching(/^the reconciler sent it again/));
    }
    expect(await manifestDigest({ url: b.url }, 'team/app', 'lost')).toBe(lost.digest);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'handover')).toBe(second.digest);
    expect(first.digest).not.toBe(second.digest);
    const unfinished = await mirror.runtime.app.jobs.listUnfinished();
    expect(unfinished).toEqual([]);
  }, 180_000);

  it('a dispatcher down for 33 s: its messages go through the dead-letter queue and come back; jobs are delayed, not FAILED', async () => {
    let downUntil = Number.POSITIVE_INFINITY;
    mirror = await startLocalMirror({
      runtime: {
        limits: { functionTimeouts: { dispatcher: 1 } }, // visibility 6 s: the 6th receive is ~30 s later
        deadLetterDelaySeconds: 1,
        faults: { dispatcherDown: () => Date.now() < downUntil },
      },
    });
    const { a, b, runtime } = mirror;
    const started = Date.now();
    downUntil = started + 33_000;
    const images = await Promise.all(
      ['d1', 'd2', 'd3'].map((tag) => pushImage(`${a.host}/team/down:${tag}`)),
    );

    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const during = await mirror.jobs();
    const jobs = await mirror.settled(3, 120_000);

    console.log(
      `dispatcher down 33 s: ${runtime.functions.deadLetters?.stats.invocations} dead-letter batches handled; all ended ${((Date.now() - started) / 1000).toFixed(1)} s after the first push`,
    );
    expect(states(during).sort()).toEqual(['d1:QUEUED', 'd2:QUEUED', 'd3:QUEUED']);
    expect(runtime.functions.deadLetters?.stats.invocations).toBeGreaterThan(0);
    expect(states(jobs).sort()).toEqual(['d1:SUCCEEDED', 'd2:SUCCEEDED', 'd3:SUCCEEDED']);
    for (const [i, tag] of ['d1', 'd2', 'd3'].entries()) {
      expect(await manifestDigest({ url: b.url }, 'team/down', tag)).toBe(images[i]?.digest);
    }
  }, 180_000);

  it('stopping the runtime stops a copy in flight through its signal, within a second or two', async () => {
    mirror = await startLocalMirror({
      destination: async (b) => {
        proxy = await startThrottlingProxy(b, 4 * MiB);
        return proxy.url;
      },
    });
    await pushImage(`${mirror.a.host}/team/slow:v1`, { layerCount: 1, layerSize: 64 * MiB });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const [job] = await mirror.jobs();
      if (job?.substate === 'MountOrCopyBlobs' && (proxy?.bytesUp() ?? 0) > 4 * MiB) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const stopping = Date.now();
    await mirror.runtime.stop();
    const took = Date.now() - stopping;

    console.log(`stop with a copy in flight took ${took} ms`);
    expect(took).toBeLessThan(5000);
    // What the sockets had buffered drains through the slow link; then nothing more goes out.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const drained = proxy?.bytesUp() ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(proxy?.bytesUp()).toBe(drained);
  }, 120_000);
});
