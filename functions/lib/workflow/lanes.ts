import type { Descriptor } from '#registry/manifests.ts';
import type { OpenUpload } from '../jobs/job.ts';

/**
 * The blobs a job must move, as the workflow carries them (docs/performance.md, "State
 * transitions"): FetchManifest copies them itself when they are few bytes; otherwise it deals
 * them into at most blobsPerJob lanes and the CopyBlobs Map runs one MountOrCopyBlobs
 * invocation per lane, which copies the lane's blobs in turn. The Map's cost is then one state
 * transition per lane, not five per blob.
 */

export type BlobRef = Pick<Descriptor, 'digest' | 'size' | 'mediaType'>;

export interface Lane {
  /** The image's digest (what PushManifest pushes): Route reads it from any lane. */
  digest: string;
  /** Blobs left to move, in order. */
  blobs: BlobRef[];
  /** The first blob's open upload (a big blob spread over invocations), else null. */
  upload: OpenUpload | null;
  done: boolean;
  /** Another job copies one of these blobs into the destination registry: wait, then mount. */
  waiting: boolean;
}

export interface JobPlan {
  next: 'skip' | 'copy' | 'push';
  digest: string;
  lanes: Lane[];
}

/**
 * Deals blobs into `count` lanes of about equal bytes (biggest first, each to the lightest
 * lane). A blob with an open upload leads its lane, so the lane's first invocation resumes it.
 */
export function dealLanes(
  digest: string,
  blobs: BlobRef[],
  count: number,
  upload: OpenUpload | null = null,
): Lane[] {
  const lanes = Array.from({ length: Math.max(1, Math.min(count, blobs.length)) }, () => ({
    bytes: 0,
    blobs: [] as BlobRef[],
  }));
  const resumed = upload ? blobs.find((blob) => blob.digest === upload.digest) : undefined;
  const rest = blobs.filter((blob) => blob !== resumed).sort((a, b) => b.size - a.size);
  for (const blob of resumed ? [resumed, ...rest] : rest) {
    const lightest = lanes.reduce((min, lane) => (lane.bytes < min.bytes ? lane : min));
    lightest.blobs.push(blob);
    lightest.bytes += blob.size;
  }
  return lanes
    .filter((lane) => lane.blobs.length > 0)
    .map((lane) => ({
      digest,
      blobs: lane.blobs,
      upload: resumed && lane.blobs[0] === resumed ? upload : null,
      done: false,
      waiting: false,
    }));
}
