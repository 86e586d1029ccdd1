import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '#registry/client.ts';
import { copyBlob, type SourceStall } from '#replication/copy-blob.ts';
import { SourceStalledError } from '#replication/errors.ts';
import { type FaultProxy, startStallingProxy, startTricklingProxy } from '../support/fault-proxy.ts';
import { type Blob, pushImage, randomLayer } from '../support/image-builder.ts';
import { registryPairForSuite } from '../support/registry-pair.ts';
import { blobExists } from '../support/registry-reader.ts';

const KiB = 1024;

/**
 * A source between crossdock and a real registry that stops sending in the middle of a blob and
 * keeps the connection open, or that is slow but keeps sending. The read-idle time is half a
 * second here (30 s by default).
 */
describe('a source that goes silent in the middle of a blob', () => {
  const registries = registryPairForSuite();
  let layer: Blob;
  const proxies: FaultProxy[] = [];
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    layer = await randomLayer(1024 * KiB);
    await pushImage(`${registries.source.host}/team-a/app:v1`, { layers: [layer] });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  });

  const sourceVia = (proxy: FaultProxy) => {
    proxies.push(proxy);
    const client = new RegistryClient({ url: proxy.url, name: 'hub-a', readIdleTimeoutSeconds: 0.5 });
    clients.push(client);
    return { client, repository: 'team-a/app' };
  };

  it('ends the copy with a stall error naming the blob and the source, and reports each stall', async () => {
    const from = sourceVia(await startStallingProxy(registries.source, { stallAfterBytes: 256 * KiB }));
    const stalls: SourceStall[] = [];

    const failure = await copyBlob({
      source: from,
      destination: { client: registries.destinationClient, repository: 'stalled/app' },
      blob: layer,
      onStall: (stall) => stalls.push(stall),
    }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(SourceStalledError);
    expect((failure as Error).message).toContain(
      `source stalled: no bytes for 0.5 s reading ${layer.digest} from hub-a/team-a/app`,
    );
    expect(stalls.map((stall) => stall.givingUp)).toEqual([false, true]);
    expect(await blobExists(registries.destination, 'stalled/app', layer.digest)).toBe(false);
  }, 30_000);

  it('resumes a source that stalled once and then sends the rest', async () => {
    const from = sourceVia(
      await startStallingProxy(registries.source, { stallAfterBytes: 256 * KiB, times: 1 }),
    );
    const stalls: SourceStall[] = [];

    const result = await copyBlob({
      source: from,
      destination: { client: registries.destinationClient, repository: 'resumed/app' },
      blob: layer,
      onStall: (stall) => stalls.push(stall),
    });

    expect(result.outcome).toBe('copied');
    expect(stalls).toHaveLength(1);
    expect(await blobExists(registries.destination, 'resumed/app', layer.digest)).toBe(true);
  }, 30_000);

  it('copies from a source that is slow but never silent for as long as the read-idle time', async () => {
    const from = sourceVia(
      await startTricklingProxy(registries.source, { bytesPerTick: 128 * KiB, tickMs: 150 }),
    );
    const stalls: SourceStall[] = [];

    const result = await copyBlob({
      source: from,
      destination: { client: registries.destinationClient, repository: 'slow/app' },
      blob: layer,
      onStall: (stall) => stalls.push(stall),
    });

    expect(result.outcome).toBe('copied');
    expect(stalls).toEqual([]);
    expect(await blobExists(registries.destination, 'slow/app', layer.digest)).toBe(true);
  }, 30_000);
});
