import { DEFAULT_LIMITS } from '../../functions/lib/config/defaults.ts';
import {
  type CrossdockProcess,
  crossdockPort,
  describeJobs,
  type JobView,
  startCrossdock,
  waitForAllEnded,
} from '../support/crossdock-process.ts';
import { startFailingProxy } from '../support/fault-proxy.ts';
import { type Blob, type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
import { mirrorConfig } from '../support/mirror.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest, mountImage, tagImage } from '../support/registry-reader.ts';
import { hookSecret, replicationPolicy, webhookOf } from '../support/serve-config.ts';
import { deliverNotification, pushNotification } from '../support/webhook-payloads.ts';
import { type CpuUse, describeCpu, startCpuMeter } from './cpu.ts';
import {
  countUploads,
  describeRatio,
  type Measure,
  median,
  peakRssOf,
  REPEAT,
  skopeoSync,
  skopeoSyncedName,
  skopeoSyncFile,
} from './measure.ts';

/**
 * The pipeline as a user runs it (`crossdock serve`, a registry whose notifications call it):
 *   - latency: from the end of a push at A to the image resolving at B (target: p95 ≤ 0.5 s);
 *   - faults: 10 % of the requests to both registries fail (503 or a reset connection);
 *     every image must still arrive, every job end SUCCEEDED;
 *   - a burst: N notifications at once (a registry catching up), default limits: the total
 *     against the ideal (the jobs' own time spread over the running slots), and how long a
 *     freed slot stood idle while a job waited for it (docs/architecture.md, "Admission");
 *   - an enable: a policy over R repositories × T small tags enabled on a running serve, until
 *     every job ended, against `skopeo sync` of the same repositories;
 *   - shared layers: R repositories whose images share one big base layer, announced in a burst
 *     (a registry catching up): first job recorded → last job ended against `skopeo sync`, and
 *     the blob bytes uploaded to the destination, counted by a proxy in front of it (skopeo's
 *     destination behind one too, so both pay the same). `burstVersusSync` is that comparison
 *     for any images: the workloads W4 and W5 (workloads.ts) run it too.
 */

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The registry may answer 500 to a read racing the push that writes the manifest: not yet.
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function replicationLatency(pushes: number): Promise<string[]> {
  const port = await crossdockPort();
  const [a, b] = await Promise.all([startRegistry({ notifications: webhookOf(port) }), startRegistry()]);
  const crossdock = await startCrossdock({ port, config: mirrorConfig(a.url, b.url, { project: 'bench' }) });
  const seconds: number[] = [];
  try {
    for (let i = 0; i < pushes; i++) {
      const image = await pushImage(`${a.host}/bench/latency:v${i}`, { layerCount: 2, layerSize: 64 * 1024 });
      const pushed = Date.now();
      await until(
        async () =>
          (await manifestDigest({ url: b.url }, 'bench/latency', `v${i}`)) === image.digest
            ? true
            : undefined,
        30_000,
      );
      seconds.push((Date.now() - pushed) / 1000);
    }
  } finally {
    await crossdock.stop();
    await Promise.all([a.stop(), b.stop()]);
  }
  const sorted = [...seconds].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  return [
    `| push at A → at B (serve, ${pushes} pushes) | median ${median.toFixed(2)} s, max ${(sorted.at(-1) as number).toFixed(2)} s | — | target p95 ≤ 0.5 s |`,
  ];
}

export async function underFaults(images: number, failureRate: number): Promise<string[]> {
  const port = await crossdockPort();
  const [a, b] = await Promise.all([startRegistry({ notifications: webhookOf(port) }), startRegistry()]);
  const [faultyA, faultyB] = await Promise.all([
    startFailingProxy(a, { failureRate }),
    startFailingProxy(b, { failureRate }),
  ]);
  const crossdock = await startCrossdock({
    port,
    config: mirrorConfig(faultyA.url, faultyB.url, { project: 'bench' }),
  });
  const started = Date.now();
  try {
    const pushed = [];
    for (let i = 0; i < images; i++) {
      pushed.push(await pushImage(`${a.host}/bench/faults${i}:v1`, { layerCount: 3, layerSize: 256 * 1024 }));
    }
    const jobs = await waitForAllEnded(crossdock, images, { timeoutMs: 300_000 });
    let arrived = 0;
    for (let i = 0; i < images; i++) {
      if ((await manifestDigest({ url: b.url }, `bench/faults${i}`, 'v1')) === pushed[i]?.digest) arrived++;
    }
    const succeeded = jobs.filter((job) => job.status === 'SUCCEEDED').length;
    const { requests, faults } = [faultyA.stats(), faultyB.stats()].reduce((x, y) => ({
      requests: x.requests + y.requests,
      faults: x.faults + y.faults,
    }));
    return [
      `| ${Math.round(failureRate * 100)} % registry faults (${faults} of ${requests} requests) | ${arrived}/${images} images arrived, ${succeeded}/${jobs.length} jobs SUCCEEDED, ${((Date.now() - started) / 1000).toFixed(1)} s | — | target: nothing lost |`,
    ];
  } finally {
    await crossdock.stop();
    await Promise.all([faultyA.stop(), faultyB.stop()]);
    await Promise.all([a.stop(), b.stop()]);
  }
}

const at = (iso: string | undefined) => Date.parse(iso ?? '');

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** How long each freed slot stood idle while a job waited: the k-th start after the first `slots` takes the k-th end's slot. */
function idleSlots(
  jobs: { createdAt: string; startedAt?: string | undefined; finishedAt?: string | undefined }[],
  slots: number,
) {
  const starts = [...jobs].sort((x, y) => at(x.startedAt) - at(y.startedAt));
  const ends = jobs.map((job) => at(job.finishedAt)).sort((x, y) => x - y);
  return starts
    .slice(slots)
    .map((job, k) => Math.max(0, at(job.startedAt) - Math.max(ends[k] as number, at(job.createdAt))));
}

/** Posts one notification to the crossdock on `port` as a registry delivers it; answers how many times it was sent again. */
async function deliver(port: number, notification: unknown, what: string): Promise<number> {
  const answer = await deliverNotification(webhookOf(port).url, notification, hookSecret('a'));
  if (answer.status >= 300) throw new Error(`notification for ${what} answered ${answer.status}`);
  return answer.retries;
}

export async function burstToServe(notifications: number): Promise<string[]> {
  const port = await crossdockPort();
  const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  const crossdock = await startCrossdock({ port, config: mirrorConfig(a.url, b.url, { project: 'bench' }) });
  try {
    const image = await pushImage(`${a.host}/bench/burst:t0`, { layerCount: 2, layerSize: 16 * 1024 });
    const tags = Array.from({ length: notifications }, (_, i) => `t${i}`);
    await tagImage({ url: a.url }, 'bench/burst', 't0', tags.slice(1));
    const posted = Date.now();
    const retries = await Promise.all(
      tags.map((tag) => deliver(port, pushNotification(a, 'bench/burst', tag, image), tag)),
    );
    const retried = retries.reduce((sum, n) => sum + n, 0);
    const jobs = await waitForAllEnded(crossdock, notifications, {
      timeoutMs: 600_000,
    });
    // One destination: its limit, not the overall one, bounds the jobs running (config/defaults.ts).
    const slots = Math.min(DEFAULT_LIMITS.runningJobs, DEFAULT_LIMITS.perDestination);
    const last = Math.max(...jobs.map((job) => at(job.finishedAt)));
    const busy = jobs.reduce((sum, job) => sum + (at(job.finishedAt) - at(job.startedAt)), 0);
    const idle = idleSlots(jobs, slots);
    const succeeded = jobs.filter((job) => job.status === 'SUCCEEDED').length;
    const others = jobs.filter((job) => job.status !== 'SUCCEEDED');
    if (others.length > 0)
      process.stderr.write(`burst: jobs that did not succeed:\n${describeJobs(others)}\n`);
    return [
      `| burst of ${notifications} notifications to serve (default limits: ${slots} running at once) | ${((last - posted) / 1000).toFixed(1)} s to the last job's end (ideal ${(busy / slots / 1000).toFixed(1)} s); a freed slot idled p50 ${percentile(idle, 0.5)} ms, p95 ${percentile(idle, 0.95)} ms; ${succeeded}/${jobs.length} SUCCEEDED; ${retried} deliveries answered 429 and retried | — | target: idle p95 < 200 ms |`,
    ];
  } finally {
    await crossdock.stop();
    await Promise.all([a.stop(), b.stop()]);
  }
}

export async function enableBackfill(repositories: number, tags: number, scratch: string): Promise<string[]> {
  const port = await crossdockPort();
  const [a, ours, theirs] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  const names = Array.from({ length: repositories }, (_, i) => `bench/backfill${i}`);
  for (const name of names) {
    for (let t = 0; t < tags; t++)
      await pushImage(`${a.host}/${name}:v${t}`, { layerCount: 2, layerSize: 16 * 1024 });
  }
  const crossdock = await startCrossdock({
    port,
    config: mirrorConfig(a.url, ours.url, { project: 'bench', webhook: false, policy: { enabled: false } }),
  });
  try {
    const enabled = Date.now();
    const meter = startCpuMeter();
    const answer = await crossdock.api('POST', '/api/policies/a-to-b/enable');
    if (answer.status >= 300)
      throw new Error(`enable answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const jobs = await waitForAllEnded(crossdock, repositories * tags, {
      timeoutMs: 600_000,
    });
    const cpu = meter.stop(crossdock.pid());
    if (process.env.BENCH_TIMELINE) printTimeline(jobs);
    const done = Math.max(...jobs.map((job) => at(job.finishedAt)));
    const first = Math.min(...jobs.map((job) => at(job.createdAt)));
    const ourSeconds = (done - enabled) / 1000;
    const skopeoMeter = startCpuMeter();
    const theirSeconds = (await skopeoSync(skopeoSyncFile(scratch, 'backfill', a.host, names), theirs.host))
      .seconds;
    const skopeoCpu = skopeoMeter.stop();
    const succeeded = jobs.filter((job) => job.status === 'SUCCEEDED').length;
    return [
      `| enable a policy over ${repositories} repos × ${tags} tags (serve) | ${ourSeconds.toFixed(2)} s enable → last job ended (first job → last ${((done - first) / 1000).toFixed(2)} s); ${succeeded}/${jobs.length} SUCCEEDED | ${theirSeconds.toFixed(2)} s (sync) | ${(ourSeconds / theirSeconds).toFixed(2)} × (target ≤ 1) |`,
      `|   machine CPU | serve: ${describeCpu(cpu, 'serve')} | ${describeCpu(skopeoCpu, 'skopeo')} | |`,
    ];
  } finally {
    await crossdock.stop();
    await Promise.all([a.stop(), ours.stop(), theirs.stop()]);
  }
}

/** An image at the source and the tag it was pushed as: what a registry's notification names. */
export interface SourceImage {
  repository: string;
  tag: string;
  image: PushedImage;
}

/** Fails unless every image resolves to its digest at `registry` (under the name `rename` gives). */
export async function checkArrived(
  registry: TestRegistry,
  images: SourceImage[],
  who: string,
  rename = (repository: string) => repository,
): Promise<void> {
  for (const { repository, tag, image } of images) {
    if ((await manifestDigest(registry, rename(repository), tag)) !== image.digest)
      throw new Error(`${who}: ${repository}:${tag} did not arrive`);
  }
}

/** The bytes of the distinct blobs (configs and layers) of `images`: each crossing once. */
export const distinctBlobBytes = (images: SourceImage[]) =>
  [
    ...new Map(images.flatMap(({ image }) => image.blobs.map((b) => [b.digest, b.size] as const))).values(),
  ].reduce((sum, size) => sum + size, 0);

/**
 * `repositories` images `<project>/shared<i>:v1` pushed to `source`, each one `baseMiB` MiB base
 * layer (the same for all) and a 64 KiB layer of its own.
 */
export async function sharedBaseImages(
  source: TestRegistry,
  project: string,
  repositories: number,
  baseMiB: number,
): Promise<{ images: SourceImage[]; base: Blob }> {
  const base = await randomLayer(baseMiB * 1024 * 1024);
  const images: SourceImage[] = [];
  for (let i = 0; i < repositories; i++) {
    const repository = `${project}/shared${i}`;
    const image = await pushImage(`${source.host}/${repository}:v1`, {
      layers: [base, await randomLayer(64 * 1024)],
    });
    images.push({ repository, tag: 'v1', image });
  }
  return { images, base };
}

export interface BurstVersusSync {
  /** crossdock: first job recorded → last job ended. */
  seconds: number;
  /** crossdock: first notification posted → last job ended. */
  postedToEndSeconds: number;
  /** `serve`'s peak resident memory (VmHWM at the end), in bytes. */
  peakRssBytes: number | undefined;
  blobBytes: number;
  uploadedBytes: number | undefined;
  jobs: number;
  succeeded: number;
  /** Deliveries answered other than 2xx and sent again. */
  retried: number;
  skopeo: Measure;
  /** The machine's CPU while serve worked (serve singled out), and while skopeo did. */
  cpu: CpuUse;
  skopeoCpu: CpuUse;
  skopeoBlobBytes: number;
  skopeoUploadedBytes: number | undefined;
}

/**
 * A registry catching up, once: `images` (of `project` at `source`) announced all at once to a
 * fresh `crossdock serve` replicating into a fresh empty registry, until every job ended; then
 * `skopeo sync` of the same repositories into another fresh registry. What each uploaded is
 * counted as `count` says (measure.ts, countUploads); every job must succeed and every image
 * arrive.
 */
export async function burstVersusSync(
  source: TestRegistry,
  project: string,
  images: SourceImage[],
  options: {
    scratch: string;
    name: string;
    count: 'proxy' | 'log';
    timeoutMs?: number;
    /** Warm `serve` first with a burst of the same images' copies to another registry (see warmUp). */
    warm?: boolean;
  },
): Promise<BurstVersusSync> {
  const [ours, theirs] = await Promise.all([startRegistry(), startRegistry()]);
  const [toOurs, toTheirs] = await Promise.all([
    countUploads(ours, options.count),
    countUploads(theirs, options.count),
  ]);
  const warmTo = options.warm ? await startRegistry() : undefined;
  let crossdock: CrossdockProcess | undefined;
  try {
    const warmProject = `${project}-warm`;
    crossdock = await startCrossdock({
      config: mirrorConfig(source.url, toOurs.url, {
        project,
        ...(warmTo && {
          registries: { c: warmTo.url },
          policies: [replicationPolicy({ name: 'warm-up', from: 'a', to: 'c', project: warmProject })],
        }),
      }),
    });
    const port = crossdock.port;
    const warmJobs = warmTo ? await warmUp(crossdock, source, project, warmProject, images) : 0;
    const posted = Date.now();
    const meter = startCpuMeter();
    const retries = await Promise.all(
      images.map(({ repository, tag, image }) =>
        deliver(port, pushNotification(source, repository, tag, image), `${repository}:${tag}`),
      ),
    );
    const jobs = (
      await waitForAllEnded(crossdock, warmJobs + images.length, {
        timeoutMs: options.timeoutMs ?? 600_000,
      })
    ).filter((job) => job.policy === 'a-to-b');
    const cpu = meter.stop(crossdock.pid());
    const peakRssBytes = peakRssOf(crossdock.pid());
    if (process.env.BENCH_TIMELINE) printTimeline(jobs);
    const failed = jobs.filter((job) => job.status !== 'SUCCEEDED');
    if (failed.length > 0)
      throw new Error(`${failed.length} of ${jobs.length} jobs did not succeed:\n${describeJobs(failed)}`);
    await checkArrived(ours, images, 'crossdock serve');
    const first = Math.min(...jobs.map((job) => at(job.createdAt)));
    const last = Math.max(...jobs.map((job) => at(job.finishedAt)));
    const repositories = [...new Set(images.map((i) => i.repository))];
    const skopeoMeter = startCpuMeter();
    const skopeo = await skopeoSync(
      skopeoSyncFile(options.scratch, options.name, source.host, repositories),
      toTheirs.host,
    );
    const skopeoCpu = skopeoMeter.stop();
    await checkArrived(theirs, images, 'skopeo sync', skopeoSyncedName);
    await checkArrived(theirs, images, 'skopeo sync', skopeoSyncedName);
    return {
      seconds: (last - first) / 1000,
      postedToEndSeconds: (last - posted) / 1000,
      peakRssBytes,
      blobBytes: toOurs.blobBytes(),
      uploadedBytes: toOurs.uploadedBytes(),
      jobs: jobs.length,
      succeeded: jobs.length - failed.length,
      retried: retries.reduce((sum, n) => sum + n, 0),
      skopeo,
      cpu,
      skopeoCpu,
      skopeoBlobBytes: toTheirs.blobBytes(),
      skopeoUploadedBytes: toTheirs.uploadedBytes(),
    };
  } finally {
    await crossdock?.stop();
    await Promise.all([toOurs.stop(), toTheirs.stop()]);
    await Promise.all([ours.stop(), theirs.stop(), warmTo?.stop()]);
  }
}

/**
 * A running `serve` has replicated before: its code is compiled (V8 optimises what runs hot)
 * and its pools are open. The warm-up puts the same images under `warmProject` at the source
 * (mounted: no bytes move), announces them in a burst to the warm-up policy, whose destination
 * is another registry, and waits for those jobs: the measured burst then finds the same empty
 * destination and the same work, in a serve that has done it once. Answers the jobs it ran.
 */
async function warmUp(
  crossdock: CrossdockProcess,
  source: TestRegistry,
  project: string,
  warmProject: string,
  images: SourceImage[],
): Promise<number> {
  const copies = images.map((image) => ({
    ...image,
    repository: `${warmProject}${image.repository.slice(project.length)}`,
  }));
  for (const [i, copy] of copies.entries()) {
    const original = images[i] as SourceImage;
    await mountImage(
      source,
      original.repository,
      copy.repository,
      copy.tag,
      copy.image.blobs.map((blob) => blob.digest),
    );
  }
  await Promise.all(
    copies.map(({ repository, tag, image }) =>
      deliver(crossdock.port, pushNotification(source, repository, tag, image), `${repository}:${tag}`),
    ),
  );
  const jobs = await waitForAllEnded(crossdock, copies.length, { timeoutMs: 600_000 });
  const failed = jobs.filter((job) => job.status !== 'SUCCEEDED');
  if (failed.length > 0)
    throw new Error(`warm-up: ${failed.length} jobs did not succeed:\n${describeJobs(failed)}`);
  return jobs.length;
}

/**
 * BENCH_TIMELINE=1: each job's substates, in milliseconds from the first job recorded, on
 * stderr — where a burst's time goes.
 */
function printTimeline(jobs: JobView[]): void {
  const first = Math.min(...jobs.map((job) => at(job.createdAt)));
  const byStart = [...jobs].sort((x, y) => at(x.startedAt) - at(y.startedAt));
  for (const job of byStart) {
    const steps = job.history.map((entry) => `${entry.substate ?? entry.status}@${at(entry.at) - first}`);
    process.stderr.write(`${job.sourceRepository}:${job.tag} ${steps.join(' ')}\n`);
  }
}

/**
 * The catching-up registry: `repositories` images sharing one base, announced in a burst
 * to a `serve` just started (V8 compiles its code as the jobs run) and to one that has replicated
 * the same images once before (pipeline.ts, warmUp), as a running service has; REPEAT runs of
 * each, each against its own `skopeo sync`. One row each.
 */
export async function sharedBaseBurst(
  source: TestRegistry,
  repositories: number,
  baseMiB: number,
  scratch: string,
): Promise<string[]> {
  const { images, base } = await sharedBaseImages(source, 'shared', repositories, baseMiB);
  const rows: string[] = [];
  for (const warm of [false, true]) {
    const runs: BurstVersusSync[] = [];
    for (let round = 0; round < REPEAT; round++)
      runs.push(
        await burstVersusSync(source, 'shared', images, {
          scratch,
          name: `shared-${warm ? 'warm' : 'fresh'}-${round}`,
          count: 'log',
          warm,
        }),
      );
    const seconds = runs.map((run) => run.seconds);
    const skopeo = runs.map((run) => run.skopeo.seconds);
    const uploaded = Math.max(...runs.map((run) => run.blobBytes));
    const succeeded = runs.reduce((sum, run) => sum + run.succeeded, 0);
    const jobs = runs.reduce((sum, run) => sum + run.jobs, 0);
    const to = warm ? 'a serve that has replicated them once before' : 'a serve just started';
    rows.push(
      `| ${repositories} repos sharing one ${baseMiB} MiB base, burst of notifications to ${to} | ${median(seconds).toFixed(2)} s first job → last job ended; at most ${(uploaded / 1024 / 1024).toFixed(1)} MiB of blobs uploaded (the base ${(uploaded / base.size).toFixed(2)} × its size); ${succeeded}/${jobs} SUCCEEDED | ${median(skopeo).toFixed(2)} s (sync) | ${describeRatio(seconds, skopeo)} (target ≤ 0.7; base once) |`,
      `|   machine CPU | serve: ${runs.map((run) => describeCpu(run.cpu, 'serve')).join('; ')} | ${runs.map((run) => describeCpu(run.skopeoCpu, 'skopeo')).join('; ')} | |`,
    );
  }
  return rows;
}
