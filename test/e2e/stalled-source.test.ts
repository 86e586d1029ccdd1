import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allEnded,
  type CrossdockProcess,
  startCrossdock,
  waitForJobs,
} from '../support/crossdock-process.ts';
import { type StallingProxy, startStallingProxy } from '../support/fault-proxy.ts';
import { type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { distributionSource, hookSecret, registryList, replicationPolicy } from '../support/serve-config.ts';
import { postNotification, pushNotification } from '../support/webhook-payloads.ts';

/**
 * A source that stops sending in the middle of a blob and keeps the connection open (a hung
 * storage backend) must not hold a running slot for an hour, silently: under `serve` the job
 * ends FAILED with the stall named, after one resume, and the log says so (issue 15, item 8;
 * docs/reliability.md). The read-idle time is 1 s here (30 s by default).
 */
describe('crossdock serve: a source that stalls mid-blob', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let stalling: StallingProxy;
  let crossdock: CrossdockProcess;
  let image: PushedImage;

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
    image = await pushImage(`${source.host}/team/app:v1`, { layers: [await randomLayer(1024 * 1024)] });
    stalling = await startStallingProxy(source, { stallAfterBytes: 128 * 1024 });
    crossdock = await startCrossdock({
      config: {
        registries: [
          { name: 'a', url: stalling.url, readIdleTimeoutSeconds: 1 },
          ...registryList({ b: destination.url }),
        ],
        sources: [distributionSource('a')],
        policies: [replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b' })],
      },
    });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await stalling?.stop();
    await Promise.all([source?.stop(), destination?.stop()]);
  });

  it('ends the job FAILED naming the stalled blob, and logs the stall', async () => {
    const started = Date.now();
    const posted = await postNotification(
      `${crossdock.url}/webhooks/a`,
      pushNotification({ url: source.url, host: source.host }, 'team/app', 'v1', image),
      hookSecret('a'),
    );
    expect(posted.status).toBe(202);

    const [job] = await waitForJobs(crossdock, allEnded, { timeoutMs: 90_000 });
    console.log(
      `ended ${job?.status} after ${Math.round((Date.now() - started) / 1000)} s: ${job?.error?.message}`,
    );

    expect(job).toMatchObject({ status: 'FAILED', error: { message: expect.stringMatching(/stalled/) } });
    const layer = [...image.blobs].sort((x, y) => y.size - x.size)[0];
    expect(job?.error?.message).toContain(layer?.digest);
    expect(crossdock.logs()).toMatch(/stall/i);
    expect(stalling.stalls()).toBeGreaterThanOrEqual(2);
  });
});
