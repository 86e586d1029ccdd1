import { afterEach, describe, expect, it } from 'vitest';
import {
  type CountingProxy,
  type FaultProxy,
  startCountingProxy,
  startThrottlingProxy,
} from '../support/fault-proxy.ts';
import { type Blob, type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
import { type LocalMirror, startLocalMirror } from '../support/local-runtime.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { hookSecret } from '../support/serve-config.ts';
import { postNotification, pushNotification } from '../support/webhook-payloads.ts';

/**
 * Issue 14 in the pipeline (the local runtime `serve` runs, in this process): jobs that need
 * the same blob at the same time copy it once — one holds the blob's claim (kept in the
 * process, which runs every job) and copies, the others wait and mount it when it lands
 * (docs/architecture.md, "Mounts"). Bytes and requests are counted at the destination: a
 * proxy in front of B, and B's access log.
 */

const MiB = 1024 * 1024;

let mirror: LocalMirror | undefined;
let proxy: CountingProxy | FaultProxy | undefined;
afterEach(async () => {
  await mirror?.stop();
  await proxy?.stop();
  mirror = undefined;
  proxy = undefined;
});

async function start(runtime: { blobClaimTtlSeconds?: number } = {}) {
  mirror = await startLocalMirror({
    notifications: false,
    limits: { runningJobs: 8, perDestination: 8, blobsPerJob: 4 },
    runtime,
    destination: async (b) => {
      proxy = await startCountingProxy(b);
      return proxy.url;
    },
  });
  return { mirror, proxy: proxy as CountingProxy };
}

/** Images at A, one per repository, all on the base layer; their notifications posted at once. */
async function burst(local: LocalMirror, base: Blob, repositories: string[]): Promise<PushedImage[]> {
  const images: PushedImage[] = [];
  for (const repository of repositories)
    images.push(await pushImage(`${local.a.host}/${repository}:v1`, { layers: [base], layerCount: 1 }));
  const answers = await Promise.all(
    repositories.map((repository, i) =>
      postNotification(
        local.webhookUrl,
        pushNotification(local.a, repository, 'v1', images[i] as PushedImage),
        hookSecret('a'),
      ),
    ),
  );
  expect(answers.map((answer) => answer.status)).toEqual(repositories.map(() => 202));
  return images;
}

/** The destination's access log, query strings decoded. */
const served = (b: TestRegistry) => b.requests().map((r) => ({ ...r, path: decodeURIComponent(r.path) }));
/** Uploads of `digest` the destination completed (the PUT ?digest= that ends an upload). */
const uploadsOf = (b: TestRegistry, digest: string) =>
  served(b).filter((r) => r.method === 'PUT' && r.path.includes(`digest=${digest}`) && r.status === 201);

describe('shared blobs in the pipeline', () => {
  it('six repositories sharing a base layer, delivered as a burst: the base crosses to the destination once', async () => {
    const { mirror, proxy } = await start();
    const base = await randomLayer(16 * MiB);
    const repositories = Array.from({ length: 6 }, (_, i) => `team/app${i}`);

    const images = await burst(mirror, base, repositories);
    const jobs = await mirror.settled(6, 120_000);

    expect(jobs.map((job) => job.status)).toEqual(repositories.map(() => 'SUCCEEDED'));
    for (const [i, repository] of repositories.entries())
      expect(await manifestDigest(mirror.b, repository, 'v1')).toBe(images[i]?.digest);
    const uploaded = proxy.uploadedBytes();
    const copies = uploadsOf(mirror.b, base.digest).length;
    const mounts = served(mirror.b).filter(
      (r) => r.path.includes(`mount=${base.digest}`) && r.status === 201,
    );
    console.log(
      `6 jobs sharing a ${base.size}-byte base: ${uploaded} bytes uploaded in all, base uploaded ${copies}×, mounted ${mounts.length}×`,
    );
    expect(copies).toBe(1);
    expect(mounts).toHaveLength(5);
    expect(uploaded).toBeLessThan(base.size + MiB);
    expect(jobs.reduce((sum, job) => sum + job.blobs.mounted, 0)).toBe(5);
    // Every blob is looked at once per job: one HEAD per blob and destination repository.
    const heads = served(mirror.b).filter((r) => r.method === 'HEAD' && r.path.includes('/blobs/'));
    const perBlob = new Map<string, number>();
    for (const head of heads) perBlob.set(head.path, (perBlob.get(head.path) ?? 0) + 1);
    expect([...perBlob.values()].every((count) => count === 1)).toBe(true);
    expect(perBlob.size).toBe(6 * 3); // config, own layer, base
  }, 180_000);

  it('a job waiting for another job’s copy lends its running slot: a third job runs meanwhile, within perDestination 2', async () => {
    mirror = await startLocalMirror({
      notifications: false,
      limits: { runningJobs: 8, perDestination: 2, blobsPerJob: 4 },
      // The base takes about a second to upload: long enough to see who runs meanwhile.
      destination: async (b) => {
        proxy = await startThrottlingProxy(b, 8 * MiB);
        return proxy.url;
      },
    });
    const base = await randomLayer(8 * MiB);
    const repositories = ['team/lend0', 'team/lend1', 'team/lend2'];

    await burst(mirror, base, repositories);
    const jobs = await mirror.settled(3, 120_000);

    expect(jobs.map((job) => job.status)).toEqual(repositories.map(() => 'SUCCEEDED'));
    expect(uploadsOf(mirror.b, base.digest)).toHaveLength(1);
    // Two jobs start; one copies the base, the other waits for it and lends its slot, so the
    // third starts while the base is still uploading: all three ran at once. Without the
    // lending the third starts only when one of the first two has ended.
    const runs = jobs.map((job) => ({
      from: Date.parse(job.startedAt ?? ''),
      to: Date.parse(job.finishedAt ?? ''),
    }));
    const atOnce = Math.max(
      ...runs.map((run) => runs.filter((o) => o.from <= run.from && run.from < o.to).length),
    );
    console.log(`3 jobs sharing a base, perDestination 2: ${atOnce} ran at once; ${JSON.stringify(runs)}`);
    expect(atOnce).toBe(3);
  }, 180_000);

  it('a claim whose holder died delays the job needing the blob until it expires, then that job copies it', async () => {
    const { mirror, proxy } = await start({ blobClaimTtlSeconds: 4 });
    const base = await randomLayer(2 * MiB);
    const image = await pushImage(`${mirror.a.host}/team/late:v1`, { layers: [base], layerCount: 1 });
    // A job that took the claim and died (a task given up): nobody releases it, nobody renews it.
    const expiresAt = (Date.now() + 4000) / 1000;
    expect(await mirror.runtime.app.blobClaims.claim(proxy.host, base.digest, 'dead-job#1')).toBe(true);

    await postNotification(
      mirror.webhookUrl,
      pushNotification(mirror.a, 'team/late', 'v1', image),
      hookSecret('a'),
    );
    const [job] = await mirror.settled(1, 60_000);

    expect(job?.status).toBe('SUCCEEDED');
    expect(await manifestDigest(mirror.b, 'team/late', 'v1')).toBe(image.digest);
    expect(uploadsOf(mirror.b, base.digest)).toHaveLength(1);
    const finished = Date.parse(job?.finishedAt ?? '');
    console.log(
      `dead claim expired at ${expiresAt * 1000}; the job finished ${finished - expiresAt * 1000} ms after`,
    );
    // It waited for the claim to expire (the job's times are recorded to the millisecond).
    expect(finished).toBeGreaterThanOrEqual(expiresAt * 1000);
  }, 120_000);
});
