import { beforeAll, describe, expect, it } from 'vitest';
import { copyBlob } from '#replication/copy-blob.ts';
import { fetchManifest } from '#replication/fetch-manifest.ts';
import { pushManifest } from '#replication/push-manifest.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { registryPairForSuite } from '../support/registry-pair.ts';
import { manifestDigest } from '../support/registry-reader.ts';

describe('pushManifest', () => {
  const registries = registryPairForSuite();
  let image: PushedImage;

  beforeAll(async () => {
    image = await pushImage(`${registries.source.host}/late/app:v1`);
  });

  const from = () => ({ client: registries.sourceClient, repository: 'late/app' });

  it('pushes again while the registry says a blob it names is unknown, and succeeds once the blob lands', async () => {
    // What a concurrent upload of the same blob into the repository looks like to a manifest
    // push on distribution: the blob is unknown for a moment. Here it lands 250 ms in.
    const to = { client: registries.destinationClient, repository: 'late/app' };
    const plan = await fetchManifest(registries.sourceClient, 'late/app', 'v1');
    const [late, ...others] = image.blobs;
    for (const blob of others) await copyBlob({ source: from(), destination: to, blob });
    const landing = new Promise((resolve) => setTimeout(resolve, 250)).then(() =>
      copyBlob({ source: from(), destination: to, blob: late as (typeof image.blobs)[number] }),
    );

    const result = await pushManifest(from(), to, plan, { tag: 'v1' });
    await landing;

    expect(result.pushed).toEqual([image.digest]);
    expect(await manifestDigest(registries.destination, 'late/app', 'v1')).toBe(image.digest);
  });

  it('fails with the registry’s MANIFEST_BLOB_UNKNOWN when a blob never lands', async () => {
    const to = { client: registries.destinationClient, repository: 'never/app' };
    const plan = await fetchManifest(registries.sourceClient, 'late/app', 'v1');

    await expect(pushManifest(from(), to, plan, { tag: 'v1' })).rejects.toThrow(/MANIFEST_BLOB_UNKNOWN/);
    expect(await manifestDigest(registries.destination, 'never/app', 'v1')).toBeUndefined();
  });
});
