import { describe, expect, it } from 'vitest';
import { type BlobRef, dealLanes } from '../../../functions/lib/workflow/lanes.ts';

const blob = (name: string, size: number): BlobRef => ({
  digest: `sha256:${name}`,
  size,
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
});

describe('dealLanes', () => {
  it('deals the blobs into at most the given number of lanes of about equal bytes (90 and 90), biggest first', () => {
    const blobs = [blob('a', 10), blob('b', 80), blob('c', 30), blob('d', 40), blob('e', 20)];

    const lanes = dealLanes('sha256:image', blobs, 2);

    expect(lanes.map((lane) => lane.blobs.map((b) => b.digest.slice(7)))).toEqual([
      ['b', 'a'],
      ['d', 'c', 'e'],
    ]);
    expect(lanes.every((lane) => lane.digest === 'sha256:image' && !lane.done && !lane.waiting)).toBe(true);
    expect(lanes.flatMap((lane) => lane.blobs).sort((x, y) => x.digest.localeCompare(y.digest))).toEqual(
      blobs.sort((x, y) => x.digest.localeCompare(y.digest)),
    );
  });

  it('makes no more lanes than blobs', () => {
    expect(dealLanes('sha256:image', [blob('a', 1)], 4)).toHaveLength(1);
  });

  it('puts a blob with an open upload at the head of its lane, with the upload, so the first invocation resumes it', () => {
    const upload = { digest: 'sha256:c', location: 'http://b/v2/x/blobs/uploads/1', offset: 5 };

    const lanes = dealLanes('sha256:image', [blob('a', 50), blob('b', 40), blob('c', 30)], 2, upload);

    const resumed = lanes.find((lane) => lane.upload !== null);
    expect(resumed?.blobs[0]?.digest).toBe('sha256:c');
    expect(resumed?.upload).toEqual(upload);
    expect(lanes.filter((lane) => lane.upload !== null)).toHaveLength(1);
  });
});
