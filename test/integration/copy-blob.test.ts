import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '#registry/client.ts';
import { DigestMismatchError } from '#registry/errors.ts';
import { copyBlob } from '#replication/copy-blob.ts';
import { startCuttingProxy } from '../support/fault-proxy.ts';
import { type Blob, pushImage, randomLayer } from '../support/image-builder.ts';
import { registryPairForSuite } from '../support/registry-pair.ts';
import { blobExists } from '../support/registry-reader.ts';

const MiB = 1024 * 1024;

describe('copyBlob', () => {
  const registries = registryPairForSuite();
  let layer: Blob;

  beforeAll(async () => {
    layer = await randomLayer(40 * MiB);
    await pushImage(`${registries.source.host}/team-a/big:v1`, { layers: [layer] });
  });

  const from = () => ({ client: registries.sourceClient, repository: 'team-a/big' });

  it('stops after its byte budget and a later call resumes from the destination offset', async () => {
    const to = { client: registries.destinationClient, repository: 'resumed/big' };

    const first = await copyBlob({
      source: from(),
      destination: to,
      blob: layer,
      chunkSize: 8 * MiB,
      byteBudget: 16 * MiB,
    });
    expect(first).toMatchObject({ outcome: 'partial', bytesSent: 16 * MiB, upload: { offset: 16 * MiB } });
    expect(await blobExists(registries.destination, 'resumed/big', layer.digest)).toBe(false);
    if (first.outcome !== 'partial') throw new Error('expected a partial copy');

    const second = await copyBlob({
      source: from(),
      destination: to,
      blob: layer,
      chunkSize: 8 * MiB,
      resume: first.upload,
    });

    expect(second).toEqual({ outcome: 'copied', bytesSent: layer.size - 16 * MiB });
    expect(await blobExists(registries.destination, 'resumed/big', layer.digest)).toBe(true);

    // A retried invocation hands the same, now completed, session again: the blob is there.
    const retried = await copyBlob({ source: from(), destination: to, blob: layer, resume: first.upload });
    expect(retried).toEqual({ outcome: 'present', bytesSent: 0 });
  });

  it('starts over when the session it was to resume is gone and the blob is not there', async () => {
    const to = { client: registries.destinationClient, repository: 'restarted/big' };
    const gone = {
      location: `${registries.destination.url}/v2/restarted/big/blobs/uploads/${'0'.repeat(8)}-0000-0000-0000-000000000000`,
      offset: 8 * MiB,
    };

    const copied = await copyBlob({
      source: from(),
      destination: to,
      blob: layer,
      chunkSize: 8 * MiB,
      resume: gone,
    });

    expect(copied).toEqual({ outcome: 'copied', bytesSent: layer.size });
    expect(await blobExists(registries.destination, 'restarted/big', layer.digest)).toBe(true);
  });

  it('lands a blob whose chunk upload was cut mid-body, verified by digest', async () => {
    const proxy = await startCuttingProxy(registries.destination, { cutAfterBytes: 20 * MiB, times: 1 });
    const viaProxy = new RegistryClient({ url: proxy.url });
    try {
      const result = await copyBlob({
        source: from(),
        destination: { client: viaProxy, repository: 'cut/big' },
        blob: layer,
        chunkSize: 8 * MiB,
      });

      expect(proxy.cuts()).toBe(1);
      expect(result.outcome).toBe('copied');
      expect(result.bytesSent).toBeGreaterThanOrEqual(layer.size);
      expect(await blobExists(registries.destination, 'cut/big', layer.digest)).toBe(true);
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  });

  it('leaves no read of the source open when a copy is cut mid-chunk, cancelled or out of time', async () => {
    // A read left open (one started ahead for the next chunk, say) keeps its connection busy:
    // closing the client would then wait for it forever.
    const closes = async (client: RegistryClient) =>
      Promise.race([
        client.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still open'), 5_000).unref()),
      ]);
    const proxy = await startCuttingProxy(registries.destination, { cutAfterBytes: 20 * MiB, times: 1 });
    const viaProxy = new RegistryClient({ url: proxy.url });
    const cutSource = new RegistryClient({ url: registries.source.url });
    const cancelledSource = new RegistryClient({ url: registries.source.url });
    const timedSource = new RegistryClient({ url: registries.source.url });
    try {
      const cut = await copyBlob({
        source: { client: cutSource, repository: 'team-a/big' },
        destination: { client: viaProxy, repository: 'cut-open/big' },
        blob: layer,
        chunkSize: 8 * MiB,
      });
      expect(proxy.cuts()).toBe(1);
      expect(cut.outcome).toBe('copied');
      expect(await closes(cutSource)).toBe('closed');

      const cancel = new AbortController();
      let read = 0;
      const cancelled = copyBlob({
        source: { client: cancelledSource, repository: 'team-a/big' },
        destination: { client: registries.destinationClient, repository: 'cancelled-open/big' },
        blob: layer,
        chunkSize: 8 * MiB,
        signal: cancel.signal,
        onProgress: (bytes) => {
          read += bytes;
          if (read > 12 * MiB) cancel.abort();
        },
      });
      await expect(cancelled).rejects.toThrow();
      expect(await closes(cancelledSource)).toBe('closed');

      // The time runs out once the first chunk is read: the call stops there, with the next
      // chunk's read already started.
      let left = 600_000;
      const stopped = await copyBlob({
        source: { client: timedSource, repository: 'team-a/big' },
        destination: { client: registries.destinationClient, repository: 'timed-open/big' },
        blob: layer,
        chunkSize: 8 * MiB,
        timeLeft: () => left,
        onProgress: () => {
          left = 0;
        },
      });
      expect(stopped).toMatchObject({ outcome: 'partial', bytesSent: 8 * MiB });
      expect(await closes(timedSource)).toBe('closed');
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  });

  it('mounts a blob from another repository of the destination registry instead of copying it', async () => {
    await copyBlob({
      source: from(),
      destination: { client: registries.destinationClient, repository: 'mount/a' },
      blob: layer,
    });
    const mark = registries.destination.mark();

    const result = await copyBlob({
      source: from(),
      destination: { client: registries.destinationClient, repository: 'mount/b' },
      blob: layer,
      mountFrom: ['mount/a'],
    });

    expect(result).toEqual({ outcome: 'mounted', bytesSent: 0 });
    expect(
      registries.destination.requests(mark).filter((r) => r.method === 'PATCH' || r.method === 'PUT'),
    ).toEqual([]);
    expect(await blobExists(registries.destination, 'mount/b', layer.digest)).toBe(true);
  });

  it('asks the source for each chunk while the destination answers the request before it, and reads each chunk once', async () => {
    // undici's own diagnostics: when a source GET was sent, when the destination answered a POST or a PATCH.
    const seen: string[] = [];
    const created = ({ request }: { request: { method: string; path: string } }) => {
      if (request.method === 'GET' && request.path.includes(layer.digest)) seen.push('GET sent');
    };
    const answered = ({ request }: { request: { method: string; path: string } }) => {
      if (['POST', 'PATCH'].includes(request.method) && request.path.includes('/blobs/uploads/'))
        seen.push(`${request.method} answered`);
    };
    subscribe('undici:request:create', created as (message: unknown) => void);
    subscribe('undici:request:headers', answered as (message: unknown) => void);
    const mark = registries.source.mark();
    try {
      const result = await copyBlob({
        source: from(),
        destination: { client: registries.destinationClient, repository: 'first-chunk/big' },
        blob: layer,
        chunkSize: 16 * MiB,
      });
      expect(result).toEqual({ outcome: 'copied', bytesSent: layer.size });
    } finally {
      unsubscribe('undici:request:create', created as (message: unknown) => void);
      unsubscribe('undici:request:headers', answered as (message: unknown) => void);
    }

    // 40 MiB in chunks of 16: the first GET goes out while the session opens, each next one
    // while the destination takes the chunk before.
    expect(seen).toEqual([
      'GET sent',
      'POST answered',
      'GET sent',
      'PATCH answered',
      'GET sent',
      'PATCH answered',
      'PATCH answered',
    ]);
    // Three GETs, none sent for nothing.
    const reads = registries.source
      .requests(mark)
      .filter((r) => r.method === 'GET' && r.path.includes(layer.digest));
    expect(reads).toHaveLength(3);
  });

  describe('with a time limit (a Lambda’s remaining time)', () => {
    const patchesInto = async (repository: string, timeLeftMs: number) => {
      const mark = registries.destination.mark();
      const reads = registries.source.mark();
      const result = await copyBlob({
        source: from(),
        destination: { client: registries.destinationClient, repository },
        blob: layer,
        timeLeft: () => timeLeftMs,
      });
      expect(result).toEqual({ outcome: 'copied', bytesSent: layer.size });
      expect(await blobExists(registries.destination, repository, layer.digest)).toBe(true);
      const patches = registries.destination.requests(mark).filter((r) => r.method === 'PATCH').length;
      // Each chunk read once: the first one, asked for early, was the length the copy sent.
      const gets = registries.source.requests(reads).filter((r) => r.method === 'GET').length;
      expect(gets).toBe(patches);
      return patches;
    };

    it('sends a blob the time left covers at the assumed rate in one chunk, without probing the link', async () => {
      // 40 MiB: over the one-PUT limit; at the assumed 5 MB/s, 8.4 s of the 10 minutes left.
      expect(await patchesInto('timed/roomy', 600_000)).toBe(1);
    });

    it('probes the link with a first small chunk when the time left would not cover the blob at the assumed rate', async () => {
      // 4 s usable of 5: the 40 MiB would take 8.4 s at 5 MB/s, so a 4 MiB probe measures the
      // link (fast here) and the rest goes in a second chunk sized from that rate.
      expect(await patchesInto('timed/tight', 5_000)).toBe(2);
    });
  });

  it('refuses a source blob whose bytes do not match its digest, and leaves nothing at the destination', async () => {
    const small = await randomLayer(64 * 1024);
    await pushImage(`${registries.source.host}/team-a/corrupt:v1`, { layers: [small] });
    const hex = small.digest.slice('sha256:'.length);
    writeFileSync(
      join(registries.source.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'),
      randomBytes(small.size),
    );

    const copy = copyBlob({
      source: { client: registries.sourceClient, repository: 'team-a/corrupt' },
      destination: { client: registries.destinationClient, repository: 'corrupt/x' },
      blob: small,
    });

    await expect(copy).rejects.toThrow(DigestMismatchError);
    expect(await blobExists(registries.destination, 'corrupt/x', small.digest)).toBe(false);
  });
});
