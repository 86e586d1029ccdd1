import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../functions/lib/config/defaults.ts';
import { allEnded, crossdockPort, startCrossdock, waitForJobs } from '../support/crossdock-process.ts';
import { startCountingProxy, startFailingProxy } from '../support/fault-proxy.ts';
import { type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
import { mirrorConfig } from '../support/mirror.ts';
import { startRegistry } from '../support/registry-process.ts';
import { manifestDigest, tagImage } from '../support/registry-reader.ts';
import { hookSecret, webhookOf } from '../support/serve-config.ts';
import { postNotification, pushNotification } from '../support/webhook-payloads.ts';

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
 *     the bytes uploaded to the destination, counted by a proxy in front of it.
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
    const jobs = await waitForJobs(crossdock, (all) => all.length >= images && allEnded(all), {
      timeoutMs: 300_000,
    });
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

/** skopeo sync's YAML source for every tag of `repositories` at `host`; answers its path. */
function skopeoSyncFile(scratch: string, name: string, host: string, repositories: string[]): string {
  const file = join(scratch, `${name}-skopeo.yaml`);
  const lines = repositories.map((repository) => `    ${repository}: ".*"`).join('\n');
  writeFileSync(file, `${host}:\n  tls-verify: false\n  images-by-tag-regex:\n${lines}\n`);
  return file;
}

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

export async function burstToServe(notifications: number): Promise<string[]> {
  const port = await crossdockPort();
  const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  const crossdock = await startCrossdock({ port, config: mirrorConfig(a.url, b.url, { project: 'bench' }) });
  try {
    const image = await pushImage(`${a.host}/bench/burst:t0`, { layerCount: 2, layerSize: 16 * 1024 });
    const tags = Array.from({ length: notifications }, (_, i) => `t${i}`);
    await tagImage({ url: a.url }, 'bench/burst', 't0', tags.slice(1));
    const posted = Date.now();
    // As a registry delivers: an answer other than 2xx (429 past the API's throttle) is retried.
    let retried = 0;
    await Promise.all(
      tags.map(async (tag) => {
        for (let attempt = 1; ; attempt++) {
          const { status } = await postNotification(
            webhookOf(port).url,
            pushNotification(a, 'bench/burst', tag, image),
            hookSecret('a'),
          );
          if (status < 300) return;
          if (attempt === 10) throw new Error(`notification for ${tag} answered ${status} ${attempt} times`);
          retried++;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }),
    );
    const jobs = await waitForJobs(crossdock, (all) => all.length >= notifications && allEnded(all), {
      timeoutMs: 600_000,
    });
    // One destination: its limit, not the overall one, bounds the jobs running (config/defaults.ts).
    const slots = Math.min(DEFAULT_LIMITS.runningJobs, DEFAULT_LIMITS.perDestination);
    const last = Math.max(...jobs.map((job) => at(job.finishedAt)));
    const busy = jobs.reduce((sum, job) => sum + (at(job.finishedAt) - at(job.startedAt)), 0);
    const idle = idleSlots(jobs, slots);
    const succeeded = jobs.filter((job) => job.status === 'SUCCEEDED').length;
    return [
      `| burst of ${notifications} notifications to serve (default limits: ${slots} running at once) | ${((last - posted) / 1000).toFixed(1)} s to the last job's end (ideal ${(busy / slots / 1000).toFixed(1)} s); a freed slot idled p50 ${percentile(idle, 0.5)} ms, p95 ${percentile(idle, 0.95)} ms; ${succeeded}/${jobs.length} SUCCEEDED; ${retried} deliveries answered 429 and retried | — | target: idle p95 < 200 ms |`,
    ];
  } finally {
    await crossdock.stop();
    await Promise.all([a.stop(), b.stop()]);
  }
}

export async function enableBackfill(
  repositories: number,
  tags: number,
  skopeoSync: (yaml: string, destination: string) => Promise<number>,
  scratch: string,
): Promise<string[]> {
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
    const answer = await crossdock.api('POST', '/api/policies/a-to-b/enable');
    if (answer.status >= 300)
      throw new Error(`enable answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const jobs = await waitForJobs(crossdock, (all) => all.length >= repositories * tags && allEnded(all), {
      timeoutMs: 600_000,
    });
    const done = Math.max(...jobs.map((job) => at(job.finishedAt)));
    const first = Math.min(...jobs.map((job) => at(job.createdAt)));
    const ourSeconds = (done - enabled) / 1000;
    const theirSeconds = await skopeoSync(skopeoSyncFile(scratch, 'backfill', a.host, names), theirs.host);
    const succeeded = jobs.filter((job) => job.status === 'SUCCEEDED').length;
    return [
      `| enable a policy over ${repositories} repos × ${tags} tags (serve) | ${ourSeconds.toFixed(2)} s enable → last job ended (first job → last ${((done - first) / 1000).toFixed(2)} s); ${succeeded}/${jobs.length} SUCCEEDED | ${theirSeconds.toFixed(2)} s (sync) | ${(ourSeconds / theirSeconds).toFixed(2)} × (target ≤ 1) |`,
    ];
  } finally {
    await crossdock.stop();
    await Promise.all([a.stop(), ours.stop(), theirs.stop()]);
  }
}

export async function sharedBaseBurst(
  repositories: number,
  baseMiB: number,
  skopeoSync: (yaml: string, destination: string) => Promise<number>,
  scratch: string,
): Promise<string[]> {
  const port = await crossdockPort();
  const [a, ours, theirs] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  const counted = await startCountingProxy(ours);
  const base = await randomLayer(baseMiB * 1024 * 1024);
  const names = Array.from({ length: repositories }, (_, i) => `bench/shared${i}`);
  const images: PushedImage[] = [];
  for (const name of names)
    images.push(await pushImage(`${a.host}/${name}:v1`, { layers: [base, await randomLayer(64 * 1024)] }));
  const crossdock = await startCrossdock({
    port,
    config: mirrorConfig(a.url, counted.url, { project: 'bench' }),
  });
  try {
    await Promise.all(
      names.map((name, i) =>
        postNotification(
          webhookOf(port).url,
          pushNotification(a, name, 'v1', images[i] as PushedImage),
          hookSecret('a'),
        ),
      ),
    );
    const jobs = await waitForJobs(crossdock, (all) => all.length >= repositories && allEnded(all), {
      timeoutMs: 600_000,
    });
    const first = Math.min(...jobs.map((job) => at(job.createdAt)));
    const last = Math.max(...jobs.map((job) => at(job.finishedAt)));
    const ourSeconds = (last - first) / 1000;
    const uploaded = counted.uploadedBytes();
    const theirSeconds = await skopeoSync(skopeoSyncFile(scratch, 'shared', a.host, names), theirs.host);
    const succeeded = jobs.filter((job) => job.status === 'SUCCEEDED').length;
    return [
      `| ${repositories} repos sharing one ${baseMiB} MiB base, burst of notifications to serve | ${ourSeconds.toFixed(2)} s first job → last job ended; ${(uploaded / 1024 / 1024).toFixed(1)} MiB uploaded (the base ${(uploaded / base.size).toFixed(2)} × its size); ${succeeded}/${jobs.length} SUCCEEDED | ${theirSeconds.toFixed(2)} s (sync) | ${(ourSeconds / theirSeconds).toFixed(2)} × (target ≤ 0.7; base once) |`,
    ];
  } finally {
    await crossdock.stop();
    await counted.stop();
    await Promise.all([a.stop(), ours.stop(), theirs.stop()]);
  }
}
