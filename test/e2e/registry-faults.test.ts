import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEnded, type CrossdockProcess, waitForJobs } from '../support/crossdock-process.ts';
import { type FailingProxy, startFailingProxy } from '../support/fault-proxy.ts';
import { pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';

/** 10 % of the requests crossdock makes to either registry fail (503 or a reset): nothing is lost. */
describe('crossdock serve under injected registry faults', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  const proxies: FailingProxy[] = [];
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    // Seeded, so a run is repeatable: about one request in ten fails.
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const failing = async (registry: TestRegistry) => {
      const proxy = await startFailingProxy(registry, { failureRate: 0.1, random });
      proxies.push(proxy);
      return proxy;
    };
    mirror = await startMirror({ proxy: { a: failing, b: failing } });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  it('replicates every image, every job SUCCEEDED, although faults were injected', async () => {
    const images = [];
    for (let i = 0; i < 8; i++)
      images.push(await pushImage(`${a.host}/team/app${i}:v1`, { layerCount: 3, layerSize: 128 * 1024 }));

    const jobs = await waitForJobs(crossdock, (all) => all.length >= 8 && allEnded(all), {
      timeoutMs: 120_000,
    });

    expect(jobs.map((job) => job.status)).toEqual(Array(8).fill('SUCCEEDED'));
    for (const [i, image] of images.entries()) {
      expect(await manifestDigest({ url: b.url }, `team/app${i}`, 'v1')).toBe(image.digest);
    }
    const faults = proxies.reduce((sum, proxy) => sum + proxy.stats().faults, 0);
    expect(faults).toBeGreaterThan(5);
  });
});
