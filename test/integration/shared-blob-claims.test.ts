import { beforeAll, describe, expect, it } from 'vitest';
import type { BlobIndex } from '#replication/blob-index.ts';
import { BlobLocations, LocalBlobClaims } from '#replication/blob-locations.ts';
import { copySharedBlob } from '#replication/shared-blob.ts';
import { type Blob, pushImage, randomLayer } from '../support/image-builder.ts';
import { registryPairForSuite } from '../support/registry-pair.ts';

/**
 * copySharedBlob with the claims of one process — the CLI's (they never expire: only their
 * holder gives them up) and `serve`'s — on real registries (docs/architecture.md, "Mounts").
 */

const MiB = 1024 * 1024;

describe('a shared blob copied with the claims of one process', () => {
  const registries = registryPairForSuite();
  let layer: Blob;

  beforeAll(async () => {
    layer = await randomLayer(2 * MiB);
    await pushImage(`${registries.source.host}/team-a/app:v1`, { layers: [layer] });
  });

  it('gives its claim up when it is stopped while it looks again after taking it', async () => {
    const registry = registries.destinationClient.host;
    const claims = new LocalBlobClaims();
    const locations = new BlobLocations();
    const stop = new AbortController();
    let reads = 0;
    // The look after the claim finds that another tag of this repository landed the blob
    // meanwhile, and asks the registry (a HEAD): the copy is stopped right then.
    const index: BlobIndex = {
      holders: async (at, digest) => {
        reads++;
        if (reads < 2) return locations.holders(at, digest);
        stop.abort(new Error('the sync was stopped'));
        return ['one/app'];
      },
      remember: (at, digest, repository) => locations.remember(at, digest, repository),
      forget: (at, digest, repository) => locations.forget(at, digest, repository),
    };

    const copy = copySharedBlob({
      source: { client: registries.sourceClient, repository: 'team-a/app' },
      destination: { client: registries.destinationClient, repository: 'one/app' },
      blob: layer,
      shared: { index, claims },
      holder: 'sync#1',
      skipCheck: true,
      signal: stop.signal,
    });

    await expect(copy).rejects.toThrow();
    expect(reads).toBe(2);
    expect(await claims.claim(registry, layer.digest, 'sync#2')).toBe(true);
  });
});
