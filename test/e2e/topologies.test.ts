import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allEnded,
  allJobs,
  type CrossdockProcess,
  crossdockPort,
  type JobView,
  sleep,
  startCrossdock,
  waitForJobs,
} from '../support/crossdock-process.ts';
import { pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { deleteManifest, manifestDigest } from '../support/registry-reader.ts';
import { distributionSource, registryList, replicationPolicy, webhookOf } from '../support/serve-config.ts';

/**
 * Topologies come from policies alone (docs/architecture.md): one-to-many, two-way and multi-level
 * through the intermediate registry's own webhooks. None loops: a job whose manifest is
 * already at the destination ends SKIPPED and pushes nothing, so it triggers no further event.
 */

const summary = (jobs: JobView[]) =>
  jobs.map((job) => `${job.policy} ${job.action} ${job.tag} ${job.status}`).sort();

/** Waits until the jobs reach `count` and all ended, then 2 s more, and returns them unchanged. */
async function settled(crossdock: CrossdockProcess, count: number): Promise<JobView[]> {
  await waitForJobs(crossdock, (jobs) => jobs.length >= count && allEnded(jobs));
  await sleep(2000);
  return allJobs(crossdock);
}

describe('crossdock serve: one-to-many (A→B, A→C)', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let c: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    c = await startRegistry();
    mirror = await startMirror({
      registries: { c: c.url },
      policies: [replicationPolicy({ name: 'a-to-c', from: 'a', to: 'c' })],
    });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(async () => {
    await Promise.all([mirror?.stop(), c?.stop()]);
  });

  it('one push at A makes one job per policy, and the image arrives at B and at C', async () => {
    const image = await pushImage(`${a.host}/team/app:v1`);

    const jobs = await settled(crossdock, 2);

    expect(summary(jobs)).toEqual(['a-to-b push v1 SUCCEEDED', 'a-to-c push v1 SUCCEEDED']);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBe(image.digest);
    expect(await manifestDigest({ url: c.url }, 'team/app', 'v1')).toBe(image.digest);
  });
});

describe('crossdock serve: two-way (A→B, B→A)', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    const port = await crossdockPort();
    [a, b] = await Promise.all([
      startRegistry({ notifications: webhookOf(port, 'a') }),
      startRegistry({ notifications: webhookOf(port, 'b') }),
    ]);
    crossdock = await startCrossdock({
      port,
      config: {
        registries: registryList({ a: a.url, b: b.url }),
        sources: [distributionSource('a'), distributionSource('b')],
        policies: [
          replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b', replicateDeletes: true }),
          replicationPolicy({ name: 'b-to-a', from: 'b', to: 'a', replicateDeletes: true }),
        ],
      },
    });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('a push at A arrives at B; B’s push event makes one job back to A that ends SKIPPED; no loop', async () => {
    const aMark = a.mark();
    const image = await pushImage(`${a.host}/team/app:v1`);
    const pushedByTest = a
      .requests(aMark)
      .filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));

    const jobs = await settled(crossdock, 2);

    expect(summary(jobs)).toEqual(['a-to-b push v1 SUCCEEDED', 'b-to-a push v1 SKIPPED']);
    expect(jobs.every((job) => job.digest === image.digest)).toBe(true);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBe(image.digest);
    expect(await manifestDigest({ url: a.url }, 'team/app', 'v1')).toBe(image.digest);
    // The job back to A pushed nothing there: the only manifest PUTs A served are skopeo's.
    const manifestPuts = a
      .requests(aMark)
      .filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));
    expect(manifestPuts).toEqual(pushedByTest);
  });

  it('a push at B arrives at A the other way round, again with exactly one SKIPPED echo', async () => {
    const image = await pushImage(`${b.host}/team/other:v2`);

    const jobs = (await settled(crossdock, 4)).filter((job) => job.tag === 'v2');

    expect(summary(jobs)).toEqual(['a-to-b push v2 SKIPPED', 'b-to-a push v2 SUCCEEDED']);
    expect(await manifestDigest({ url: a.url }, 'team/other', 'v2')).toBe(image.digest);
    expect(await allJobs(crossdock)).toHaveLength(4);
  });

  it('a delete at A (both policies replicate deletes) removes the tag at B; the echo back to A ends SKIPPED; no loop', async () => {
    const digest = (await manifestDigest({ url: a.url }, 'team/app', 'v1')) as string;
    expect(digest).toBeDefined();

    await deleteManifest(a, 'team/app', digest);

    const jobs = (await settled(crossdock, 6)).filter((job) => job.action === 'delete');
    expect(summary(jobs)).toEqual(['a-to-b delete v1 SUCCEEDED', 'b-to-a delete v1 SKIPPED']);
    expect(jobs.every((job) => job.digest === digest && job.error === undefined)).toBe(true);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBeUndefined();
    expect(await manifestDigest({ url: a.url }, 'team/app', 'v1')).toBeUndefined();
    expect(await allJobs(crossdock)).toHaveLength(6);
  });
});

describe('crossdock serve: three levels (A→B, B→C through B’s webhooks)', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let c: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    const port = await crossdockPort();
    [a, b, c] = await Promise.all([
      startRegistry({ notifications: webhookOf(port, 'a') }),
      startRegistry({ notifications: webhookOf(port, 'b') }),
      startRegistry(),
    ]);
    crossdock = await startCrossdock({
      port,
      config: {
        registries: registryList({ a: a.url, b: b.url, c: c.url }),
        sources: [distributionSource('a'), distributionSource('b')],
        policies: [
          replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b' }),
          replicationPolicy({ name: 'b-to-c', from: 'b', to: 'c' }),
        ],
      },
    });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  it('a push at A arrives at C through B, one job per hop, both SUCCEEDED', async () => {
    const image = await pushImage(`${a.host}/team/app:v1`, {
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });

    const jobs = await settled(crossdock, 2);

    expect(summary(jobs)).toEqual(['a-to-b push v1 SUCCEEDED', 'b-to-c push v1 SUCCEEDED']);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBe(image.digest);
    expect(await manifestDigest({ url: c.url }, 'team/app', 'v1')).toBe(image.digest);
    for (const child of image.children) {
      expect(await manifestDigest({ url: c.url }, 'team/app', child.digest)).toBe(child.digest);
    }
  });
});
