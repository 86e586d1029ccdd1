import { allEnded, crossdockPort, startCrossdock, waitForJobs } from '../support/crossdock-process.ts';
import { startFailingProxy } from '../support/fault-proxy.ts';
import { pushImage } from '../support/image-builder.ts';
import { mirrorConfig } from '../support/mirror.ts';
import { startRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { webhookOf } from '../support/serve-config.ts';

/**
 * The pipeline as a user runs it (`crossdock serve`, a registry whose notifications call it):
 *   - latency: from the end of a push at A to the image resolving at B (target ≤ 3 s);
 *   - faults: 10 % of the requests to both registries fail (503 or a reset connection);
 *     every image must still arrive, every job end SUCCEEDED.
 */

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
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
    `| push at A → at B (serve, ${pushes} pushes) | median ${median.toFixed(2)} s, max ${(sorted.at(-1) as number).toFixed(2)} s | — | target ≤ 3 s |`,
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
