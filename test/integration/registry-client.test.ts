import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '#registry/client.ts';
import { deleteTag } from '#replication/delete-tag.ts';
import { replicateTag } from '#replication/replicate-tag.ts';
import { startCuttingProxy } from '../support/fault-proxy.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { removeTag, startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { listTags, manifestDigest, tagImage } from '../support/registry-reader.ts';

describe('registry client and steps against a real registry', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let v1: PushedImage;
  let v2: PushedImage;

  beforeAll(async () => {
    registry = await startRegistry({ auth: { kind: 'basic', username: 'u', password: 'p' } });
    client = new RegistryClient({ url: registry.url, credentials: { username: 'u', password: 'p' } });
    v1 = await pushImage(`${registry.host}/team-a/app:v1`, { creds: 'u:p' });
    v2 = await pushImage(`${registry.host}/team-a/app:v2`, { creds: 'u:p' });
    for (let i = 0; i < 5; i++)
      await pushImage(`${registry.host}/team-a/many${i}:v1`, { creds: 'u:p', layerCount: 1 });
  });

  afterAll(async () => {
    await client?.close();
    await registry?.stop();
  });

  it('lists the catalog page by page, following the Link header', async () => {
    const pages: string[][] = [];
    for await (const page of client.listing.catalog({ pageSize: 2 })) pages.push(page);

    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((page) => page.length <= 2)).toBe(true);
    expect(pages.flat().sort()).toEqual(['team-a/app', ...[0, 1, 2, 3, 4].map((i) => `team-a/many${i}`)]);
  });

  it('deletes a destination tag only while it still points at the deleted digest', async () => {
    const destination = { client, repository: 'mirror/app' };
    const source = { client, repository: 'gone/app' }; // the tag is gone at the source
    await replicateTag({ source: { client, repository: 'team-a/app' }, destination, reference: 'v1' });
    const remove = (deletedDigest: string) => deleteTag({ source, destination, tag: 'v1', deletedDigest });

    const moved = await remove(v2.digest);
    expect(moved).toEqual({ deleted: false, reason: 'tag-moved', destinationDigest: v1.digest });
    expect(await manifestDigest({ url: registry.url, creds: 'u:p' }, 'mirror/app', 'v1')).toBe(v1.digest);

    const deleted = await remove(v1.digest);
    expect(deleted).toEqual({ deleted: true });
    expect(await listTags({ url: registry.url, creds: 'u:p' }, 'mirror/app')).toEqual([]);

    expect(await remove(v1.digest)).toEqual({ deleted: false, reason: 'tag-missing' });
  });

  it('does not delete while the source has the tag again, or other tags on the digest', async () => {
    const access = { url: registry.url, creds: 'u:p' };
    const source = { client, repository: 'src-shared/app' };
    const destination = { client, repository: 'dst-shared/app' };
    for (const side of [source, destination]) {
      await replicateTag({
        source: { client, repository: 'team-a/app' },
        destination: side,
        reference: 'v1',
      });
      await tagImage(access, side.repository, 'v1', ['stable', 'edge']);
    }
    const request = { source, destination, tag: 'v1', deletedDigest: v1.digest };

    const pushedAgain = await deleteTag(request);
    removeTag(registry, 'src-shared/app', 'v1');
    const tooMany = await deleteTag({ ...request, tagLimit: 1 });
    const shared = await deleteTag(request);
    removeTag(registry, 'src-shared/app', 'stable');
    removeTag(registry, 'src-shared/app', 'edge');
    const deleted = await deleteTag(request);

    expect(pushedAgain).toEqual({ deleted: false, reason: 'tag-exists-at-source', sourceDigest: v1.digest });
    expect(tooMany).toEqual({ deleted: false, reason: 'too-many-tags', limit: 1 });
    expect(shared).toEqual({ deleted: false, reason: 'digest-shared-by-tags', tags: ['edge', 'stable'] });
    expect(deleted).toEqual({ deleted: true });
    expect(await listTags(access, 'dst-shared/app')).toEqual([]);
  });

  it('copies within one registry by mounting from the source repository', async () => {
    const mark = registry.mark();

    const result = await replicateTag({
      source: { client, repository: 'team-a/app' },
      destination: { client, repository: 'copy/app' },
      reference: 'v2',
    });

    expect(result.stats).toMatchObject({ blobsMounted: v2.blobs.length, blobsCopied: 0 });
    expect(
      registry
        .requests(mark)
        .filter((r) => r.method === 'PATCH' || (r.method === 'PUT' && r.path.includes('/blobs/'))),
    ).toEqual([]);
  });

  it('retries a read whose connection the network cut', async () => {
    const proxy = await startCuttingProxy(registry, { cutAfterBytes: 1, times: 2 });
    const viaProxy = new RegistryClient(
      { url: proxy.url, credentials: { username: 'u', password: 'p' } },
      { retry: { baseDelayMs: 10 } },
    );
    try {
      const manifest = await viaProxy.manifests.get('team-a/app', 'v1');

      expect(manifest.digest).toBe(v1.digest);
      expect(proxy.cuts()).toBe(2);
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  });

  /**
   * A TCP relay to the registry, reached by a client with the registry's credentials: `wire`
   * joins each connection to its own upstream one (both are torn down together).
   */
  async function viaRelay(
    wire: (client: Socket, upstream: Socket) => void,
    options: ConstructorParameters<typeof RegistryClient>[1] = {},
  ): Promise<{ client: RegistryClient; close(): Promise<void> }> {
    const relay = createServer((socket) => {
      const upstream = connect(Number(new URL(registry.url).port), '127.0.0.1');
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      wire(socket, upstream);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const client = new RegistryClient(
      {
        url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
        credentials: { username: 'u', password: 'p' },
      },
      options,
    );
    return {
      client,
      close: async () => {
        await client.close();
        await new Promise<void>((resolve) => relay.close(() => resolve()));
      },
    };
  }

  it('keeps its connection open after HEAD requests: checks and reads go over one', async () => {
    // A relay of bytes that counts the TCP connections made to the registry through it.
    let connections = 0;
    const relay = await viaRelay((socket, upstream) => {
      connections++;
      socket.pipe(upstream).pipe(socket);
    });
    try {
      for (let round = 0; round < 3; round++) {
        for (const blob of v1.blobs)
          expect(await relay.client.blobs.head('team-a/app', blob.digest)).toBe(blob.size);
        expect((await relay.client.manifests.head('team-a/app', 'v1'))?.digest).toBe(v1.digest);
      }
      expect((await relay.client.manifests.get('team-a/app', 'v1')).digest).toBe(v1.digest);

      // undici's pool may open a second while the first is being handed back; not one per HEAD.
      expect(connections).toBeLessThanOrEqual(2);
    } finally {
      await relay.close();
    }
  });

  it('tries a read again on a new connection when a kept connection carries bytes it did not ask for', async () => {
    // A slow server (or proxy) that sends a body after a HEAD's headers: 20 ms after each HEAD's
    // answer the relay writes stray bytes, and it forwards the next request 40 ms late, so they
    // arrive as the start of that request's answer on the kept connection.
    const relay = await viaRelay(
      (socket, upstream) => {
        let lastWasHead = false;
        socket.on('data', (chunk: Buffer) => {
          const delay = lastWasHead ? 40 : 0;
          lastWasHead = chunk.toString('latin1').startsWith('HEAD ');
          setTimeout(() => upstream.write(chunk), delay);
        });
        upstream.on('data', (chunk: Buffer) => {
          socket.write(chunk);
          if (lastWasHead) setTimeout(() => socket.writable && socket.write('stray'), 20);
        });
      },
      { retry: { baseDelayMs: 10 } },
    );
    try {
      const blob = v1.blobs[0] as (typeof v1.blobs)[number];
      expect(await relay.client.blobs.head('team-a/app', blob.digest)).toBe(blob.size);

      expect((await relay.client.manifests.get('team-a/app', 'v1')).digest).toBe(v1.digest);
    } finally {
      await relay.close();
    }
  });
});
