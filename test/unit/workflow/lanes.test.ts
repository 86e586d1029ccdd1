import { describe, expect, it } from 'vitest';
import {
  type BlobRef,
  DEFAULT_LANE_COST_BYTES,
  dealLanes,
  keptLane,
  laneToCopy,
} from '../../../functions/lib/workflow/lanes.ts';

const blob = (name: string, size: number): BlobRef => ({
  digest: `sha256:${name}`,
  size,
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
});

const MiB = 1024 * 1024;

describe('dealLanes', () => {
  it('deals the blobs into at most the given number of lanes of about equal bytes (90 and 90), biggest first', () => {
    const blobs = [
      blob('a', 10 * MiB),
      blob('b', 80 * MiB),
      blob('c', 30 * MiB),
      blob('d', 40 * MiB),
      blob('e', 20 * MiB),
    ];

    const lanes = dealLanes('sha256:image', blobs, 2);

    expect(lanes.map((lane) => lane.blobs.map((b) => b.digest.slice(7)))).toEqual([
      ['b', 'a'],
      ['d', 'c', 'e'],
    ]);
    expect(lanes.every((lane) => lane.digest === 'sha256:image' && lane.upload === null)).toBe(true);
    expect(lanes.flatMap((lane) => lane.blobs).sort((x, y) => x.digest.localeCompare(y.digest))).toEqual(
      blobs.sort((x, y) => x.digest.localeCompare(y.digest)),
    );
  });

  it('makes no lane the longest one outlasts: one 200 MiB layer and four small ones take two lanes, not four', () => {
    const blobs = [
      blob('big', 200 * MiB),
      blob('a', 4 * MiB),
      blob('b', 3 * MiB),
      blob('c', 2 * MiB),
      blob('d', 1 * MiB),
    ];

    const lanes = dealLanes('sha256:image', blobs, 4);

    expect(lanes.map((lane) => lane.blobs.map((b) => b.digest.slice(7)))).toEqual([
      ['big'],
      ['a', 'b', 'c', 'd'],
    ]);
  });

  it('keeps every lane it is given when each ends the job sooner: four layers of 100 MiB take four, five take three', () => {
    const layers = (count: number) => Array.from({ length: count }, (_, i) => blob(`l${i}`, 100 * MiB));

    expect(dealLanes('sha256:image', layers(4), 4)).toHaveLength(4);
    // Four lanes would end no sooner than three: one of them copies two layers either way.
    expect(dealLanes('sha256:image', layers(5), 4).map((lane) => lane.blobs.length)).toEqual([2, 2, 1]);
  });

  it('takes a lane more only while it shortens the longest, with lanes costing nothing: 60, 50, 40, 30 MiB take two lanes of 90 and 90', () => {
    const blobs = [blob('a', 60 * MiB), blob('b', 50 * MiB), blob('c', 40 * MiB), blob('d', 30 * MiB)];

    expect(dealLanes('sha256:image', blobs, 2, [], 0)).toHaveLength(2);
    expect(dealLanes('sha256:image', blobs, 4, [], 0)).toHaveLength(4);
    expect(dealLanes('sha256:image', [blob('a', 60 * MiB), blob('b', 1 * MiB)], 4, [], 0)).toHaveLength(2);
  });

  it('takes a lane more only when it shortens the longest by more than a lane costs: four 9 MiB layers take two lanes, four of 40 MiB four', () => {
    const layers = (count: number, size: number) =>
      Array.from({ length: count }, (_, i) => blob(`l${i}`, size));

    expect(DEFAULT_LANE_COST_BYTES).toBe(16 * MiB);
    expect(dealLanes('sha256:image', layers(4, 9 * MiB), 4).map((lane) => lane.blobs.length)).toEqual([2, 2]);
    expect(dealLanes('sha256:image', layers(4, 40 * MiB), 4)).toHaveLength(4);
    // A lane for the fourth of 60, 50, 40 and 30 MiB would save 14 MiB of the longest: three.
    const mixed = [blob('a', 60 * MiB), blob('b', 50 * MiB), blob('c', 40 * MiB), blob('d', 30 * MiB)];
    expect(dealLanes('sha256:image', mixed, 4)).toHaveLength(3);
    // A small layer beside a big one rides in the big one's lane.
    expect(dealLanes('sha256:image', [blob('a', 60 * MiB), blob('b', 1 * MiB)], 4)).toHaveLength(1);
  });

  it('makes no more lanes than blobs', () => {
    expect(dealLanes('sha256:image', [blob('a', 1)], 4)).toHaveLength(1);
  });

  it('puts a blob with an open upload at the head of its lane, with the upload, so the first invocation resumes it', () => {
    const upload = { digest: 'sha256:c', location: 'http://b/v2/x/blobs/uploads/1', offset: 5 };

    const lanes = dealLanes('sha256:image', [blob('a', 50), blob('b', 40), blob('c', 30)], 2, [upload]);

    const resumed = lanes.find((lane) => lane.upload !== null);
    expect(resumed?.blobs[0]?.digest).toBe('sha256:c');
    expect(resumed?.upload).toEqual(upload);
    expect(lanes.filter((lane) => lane.upload !== null)).toHaveLength(1);
  });

  it('gives each open upload a lane of its own, up to the lanes there are; the others start over', () => {
    const open = (name: string, offset: number) => ({
      digest: `sha256:${name}`,
      location: `http://b/v2/x/blobs/uploads/${name}`,
      offset,
    });
    const blobs = [blob('a', 90 * MiB), blob('b', 80 * MiB), blob('c', 70 * MiB), blob('d', 1 * MiB)];

    // Lanes costing nothing: the 9 MiB that a third lane saves b are enough.
    const two = dealLanes('sha256:image', blobs, 4, [open('a', 85 * MiB), open('c', 60 * MiB)], 0);
    const one = dealLanes('sha256:image', blobs, 1, [open('a', 85 * MiB), open('c', 60 * MiB)]);

    expect(
      two.filter((lane) => lane.upload).map((lane) => [lane.blobs[0]?.digest, lane.upload?.offset]),
    ).toEqual([
      ['sha256:a', 85 * MiB],
      ['sha256:c', 60 * MiB],
    ]);
    // What is left of a and c is small: b, the biggest left to send, gets a lane to itself.
    expect(two.map((lane) => lane.blobs.map((b) => b.digest.slice(7)))).toEqual([['a', 'd'], ['c'], ['b']]);
    expect(one).toEqual([
      {
        digest: 'sha256:image',
        blobs: [blobs[0], blobs[1], blobs[2], blobs[3]],
        upload: open('a', 85 * MiB),
      },
    ]);
  });

  describe('the lane an invocation copies', () => {
    const dealt = {
      digest: 'sha256:image',
      blobs: [blob('a', 50), blob('b', 40), blob('c', 30)],
      upload: null,
    };
    const upload = { digest: 'sha256:b', location: 'http://b/v2/x/blobs/uploads/1', offset: 7 };

    it('is the lane as dealt when nothing was kept of it', () => {
      expect(laneToCopy(dealt, undefined, 's1')).toBe(dealt);
    });

    it('is what this execution kept of it: the blobs left, the open upload first', () => {
      const kept = { started: 's1', blobs: ['sha256:b', 'sha256:c'], upload };

      const lane = laneToCopy(dealt, kept, 's1');

      expect(lane.blobs.map((b) => b.digest)).toEqual(['sha256:b', 'sha256:c']);
      expect(lane.upload).toEqual(upload);
      expect(laneToCopy(dealt, keptLane(lane, 's1'), 's1')).toEqual(lane);
    });

    it('is the lane as dealt when an earlier execution of the job kept one (a restart deals anew)', () => {
      const kept = { started: 's0', blobs: ['sha256:c'] };

      expect(laneToCopy(dealt, kept, 's1')).toBe(dealt);
    });
  });
});
