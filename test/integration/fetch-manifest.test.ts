import { beforeAll, describe, expect, it } from 'vitest';
import { fetchAnnouncedManifest } from '#replication/fetch-manifest.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { registryPairForSuite } from '../support/registry-pair.ts';
import { tagImage } from '../support/registry-reader.ts';

describe('fetchAnnouncedManifest', () => {
  const registries = registryPairForSuite();
  let image: PushedImage;

  beforeAll(async () => {
    image = await pushImage(`${registries.source.host}/announced/app:v1`);
  });

  it('reads a tag the registry announced before linking it, once the tag appears', async () => {
    // What distribution's push event looks like to a quick reader: the event names the tag, the
    // tag is linked just after. Here it appears 250 ms in.
    const linking = new Promise((resolve) => setTimeout(resolve, 250)).then(() =>
      tagImage({ url: registries.source.url }, 'announced/app', 'v1', ['v2']),
    );

    const plan = await fetchAnnouncedManifest(registries.sourceClient, 'announced/app', 'v2');
    await linking;

    expect(plan.root.digest).toBe(image.digest);
    expect(plan.reference).toBe('v2');
  });

  it('fails with the registry’s MANIFEST_UNKNOWN when the tag never appears', async () => {
    await expect(fetchAnnouncedManifest(registries.sourceClient, 'announced/app', 'never')).rejects.toThrow(
      /MANIFEST_UNKNOWN/,
    );
  });
});
