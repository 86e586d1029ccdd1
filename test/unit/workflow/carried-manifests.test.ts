import { describe, expect, it } from 'vitest';
import { digestOf } from '#registry/digest.ts';
import { type Manifest, parseManifest } from '#registry/manifests.ts';
import type { ManifestCache } from '#replication/types.ts';
import {
  carriedManifests,
  carryManifests,
  withManifests,
} from '../../../functions/lib/workflow/carried-manifests.ts';
import type { JobPlan } from '../../../functions/lib/workflow/lanes.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A manifest as the registry client reads it, from its exact bytes. */
function manifest(bytes: Buffer): Manifest {
  return { ...parseManifest(bytes, OCI_MANIFEST, 'test manifest'), digest: digestOf(bytes, 'sha256') };
}

const imageBytes = (layer: string, padding = '') =>
  Buffer.from(
    // Spacing and key order as a registry may hold them: pushing them again must keep every byte.
    `{"schemaVersion":2,  "mediaType":"${OCI_MANIFEST}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:${'c'.repeat(64)}","size":2},\n"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:${layer.repeat(64)}","size":3}],"annotations":{"note":"é ${padding}"}}`,
    'utf8',
  );

const cacheOf = (...manifests: Manifest[]): ManifestCache => new Map(manifests.map((m) => [m.digest, m]));

describe('carried manifests', () => {
  it('carries the manifests FetchManifest read and gives back their exact bytes, in the order asked', () => {
    const a = manifest(imageBytes('a'));
    const b = manifest(imageBytes('b'));

    const carried = carryManifests(cacheOf(a, b), [b.digest, a.digest]);
    const cache = carriedManifests(JSON.parse(JSON.stringify(carried)));

    expect(carried?.map((m) => m.digest)).toEqual([b.digest, a.digest]);
    expect(cache.get(a.digest)?.bytes.equals(a.bytes)).toBe(true);
    expect(cache.get(b.digest)).toMatchObject({ digest: b.digest, mediaType: OCI_MANIFEST, size: b.size });
    expect(cache.get(b.digest)?.document).toEqual(b.document);
  });

  it('carries none when one manifest of the tree was not read', () => {
    const a = manifest(imageBytes('a'));

    expect(carryManifests(cacheOf(a), [a.digest, `sha256:${'f'.repeat(64)}`])).toBeUndefined();
  });

  it('carries none when the manifests come to more than the budget', () => {
    const a = manifest(imageBytes('a', 'x'.repeat(600)));
    const b = manifest(imageBytes('b', 'x'.repeat(600)));

    expect(carryManifests(cacheOf(a, b), [a.digest, b.digest], a.size + b.size - 1)).toBeUndefined();
    expect(carryManifests(cacheOf(a, b), [a.digest, b.digest], a.size + b.size)).toHaveLength(2);
  });

  it('carries none whose bytes are not UTF-8 text (their text would not give the same bytes back)', () => {
    const bytes = Buffer.concat([imageBytes('a').subarray(0, -2), Buffer.from([0x22, 0xff, 0x22, 0x7d])]);
    const odd: Manifest = { ...manifest(imageBytes('a')), bytes, digest: digestOf(bytes, 'sha256') };

    expect(carryManifests(cacheOf(odd), [odd.digest])).toBeUndefined();
  });

  it('takes no carried manifest whose text does not hash to its digest: PushManifest reads that one from the source', () => {
    const a = manifest(imageBytes('a'));
    const b = manifest(imageBytes('b'));
    const [carriedA, carriedB] = carryManifests(cacheOf(a, b), [a.digest, b.digest]) ?? [];
    const altered = { ...carriedB, text: carriedB?.text.replace('"size":3', '"size":4') };

    const cache = carriedManifests([
      carriedA,
      altered,
      { digest: 'md5:abc', mediaType: OCI_MANIFEST, text: '{}' },
    ]);

    expect([...cache.keys()]).toEqual([a.digest]);
  });

  it('leaves the manifests out of a plan that would weigh too much with them (the lanes of many blobs need the room)', () => {
    const a = manifest(imageBytes('a'));
    const carried = carryManifests(cacheOf(a), [a.digest]);
    const blobs = Array.from({ length: 50 }, (_, i) => ({
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      size: 1024,
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    }));
    const plan: JobPlan = {
      next: 'copy',
      digest: a.digest,
      lanes: [{ digest: a.digest, blobs, upload: null }],
    };
    const weight = Buffer.byteLength(JSON.stringify({ ...plan, manifests: carried }));

    expect(withManifests(plan, carried, weight)).toEqual({ ...plan, manifests: carried });
    expect(withManifests(plan, carried, weight - 1)).toEqual(plan);
    expect(withManifests(plan, undefined)).toEqual(plan);
  });

  it('weighs a plan by its bytes as UTF-8, as Step Functions does, not by its characters', () => {
    const a = manifest(imageBytes('a', '漢'.repeat(300)));
    const carried = carryManifests(cacheOf(a), [a.digest]);
    const plan: JobPlan = { next: 'push', digest: a.digest, lanes: [] };
    const json = JSON.stringify({ ...plan, manifests: carried });
    const bytes = Buffer.byteLength(json);

    expect(bytes).toBeGreaterThan(json.length + 600); // each 漢 is 3 bytes
    expect(withManifests(plan, carried, json.length)).toEqual(plan);
    expect(withManifests(plan, carried, bytes)).toEqual({ ...plan, manifests: carried });
  });

  it('reads nothing carried from a plan without manifests (an execution of the definition before them)', () => {
    expect(carriedManifests(undefined).size).toBe(0);
    expect(carriedManifests('not a list').size).toBe(0);
  });
});
