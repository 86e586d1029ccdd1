import type { Descriptor } from '#registry/manifests.ts';
import type { KeptLane, OpenUpload } from '../jobs/job.ts';
import type { CarriedManifest } from './carried-manifests.ts';

/**
 * The blobs a job must move, as the workflow carries them (docs/performance.md, "State
 * transitions"): FetchManifest copies them itself when they are few bytes; otherwise it deals
 * them into at most blobsPerJob lanes and the CopyBlobs Map runs one MountOrCopyBlobs
 * invocation per lane, which copies the lane's blobs in turn. The Map's cost is then one state
 * transition per lane, not five per blob. A lane one invocation cannot finish goes on in the
 * next through the state's Retry, from what the job's record kept of it (KeptLane).
 */

export type BlobRef = Pick<Descriptor, 'digest' | 'size' | 'mediaType'>;

export interface Lane {
  /** The image's digest (what PushManifest pushes): Route reads it from any lane. */
  digest: string;
  /** Blobs left to move, in order. */
  blobs: BlobRef[];
  /** The first blob's open upload (a big blob spread over invocations), else null. */
  upload: OpenUpload | null;
}

export interface JobPlan {
  /** What Route does next: end (the job ended SKIPPED), copy lanes then push, push, or delete (a delete's check passed). */
  next: 'skip' | 'copy' | 'push' | 'delete';
  digest: string;
  lanes: Lane[];
  /** The manifests to push, as FetchManifest read them (carried-manifests.ts); absent: PushManifest reads them. */
  manifests?: CarriedManifest[];
}

/**
 * What a blob costs a lane besides its bytes: its own round trips (a mount try, the upload's
 * POST and PUT), counted as the bytes that would move meanwhile — 4 MiB, ~40 ms at 100 MB/s.
 */
const BLOB_OVERHEAD_BYTES = 4 * 1024 * 1024;

/**
 * What a lane costs besides its blobs, counted the same way: its Map iteration (a state
 * transition), its invocation (a Lambda start, maybe cold) and its records (its substate and
 * progress: docs/performance.md) — estimated at 0.1–0.2 s on AWS, not measured there: what
 * 16 MiB take at ~100 MB/s. A lane more is dealt only when it shortens the longest lane by more
 * than that: four layers of 9 MiB take two lanes, four of 40 MiB four.
 */
export const DEFAULT_LANE_COST_BYTES = 16 * 1024 * 1024;

interface Dealt {
  blobs: BlobRef[];
  cost: number;
  upload: OpenUpload | null;
}

/**
 * Deals blobs into `count` lanes: each resumed blob leads a lane of its own, costing what is
 * left of it; the rest, in this order, each to the lane with the least cost so far.
 */
function deal(resumed: { blob: BlobRef; upload: OpenUpload }[], rest: BlobRef[], count: number): Dealt[] {
  const lanes: Dealt[] = Array.from({ length: count }, (_, i) => {
    const lead = resumed[i];
    return lead
      ? {
          blobs: [lead.blob],
          cost: lead.blob.size - lead.upload.offset + BLOB_OVERHEAD_BYTES,
          upload: lead.upload,
        }
      : { blobs: [], cost: 0, upload: null };
  });
  for (const blob of rest) {
    const lightest = lanes.reduce((min, lane) => (lane.cost < min.cost ? lane : min));
    lightest.blobs.push(blob);
    lightest.cost += blob.size + BLOB_OVERHEAD_BYTES;
  }
  return lanes.filter((lane) => lane.blobs.length > 0);
}

const longest = (lanes: Dealt[]) => Math.max(...lanes.map((lane) => lane.cost));

/**
 * Deals blobs into at most `count` lanes of about equal bytes (biggest first, each to the
 * lightest lane), and into no more lanes than make the job end sooner by more than a lane
 * costs (`laneCost`, DEFAULT_LANE_COST_BYTES): each lane is a state transition and an
 * invocation (docs/performance.md), and a lane the longest one outlasts anyway is one paid for
 * nothing — one 200 MiB layer and four small ones take two lanes, not four. A blob with an open
 * upload (an execution before this one of the job left it) leads a lane of its own, so the lane's
 * first invocation resumes it; more open uploads than lanes: the others start over.
 */
export function dealLanes(
  digest: string,
  blobs: BlobRef[],
  count: number,
  uploads: OpenUpload[] = [],
  laneCost = DEFAULT_LANE_COST_BYTES,
): Lane[] {
  const most = Math.max(1, Math.min(count, blobs.length));
  const resumed = uploads.flatMap((upload) => {
    const blob = blobs.find((candidate) => candidate.digest === upload.digest);
    return blob ? [{ blob, upload }] : [];
  });
  const leads = resumed
    .filter((lead, i) => resumed.findIndex((r) => r.blob === lead.blob) === i)
    .slice(0, most);
  const rest = blobs
    .filter((blob) => !leads.some((lead) => lead.blob === blob))
    .sort((a, b) => b.size - a.size);
  // The job's time with n lanes, as bytes: its longest lane, and what its lanes cost. Ties go
  // to fewer lanes.
  const costOf = (lanes: Dealt[]) => longest(lanes) + lanes.length * laneCost;
  const fewest = Math.max(1, leads.length);
  let lanes = deal(leads, rest, fewest);
  for (let n = fewest + 1; n <= most; n++) {
    const more = deal(leads, rest, n);
    if (costOf(more) < costOf(lanes)) lanes = more;
  }
  return lanes.map(({ blobs: dealt, upload }) => ({ digest, blobs: dealt, upload }));
}

/** A lane as the record keeps it. */
export function keptLane(lane: Lane, started: string): KeptLane {
  return {
    started,
    blobs: lane.blobs.map((blob) => blob.digest),
    ...(lane.upload ? { upload: lane.upload } : {}),
  };
}

/**
 * The lane a MountOrCopyBlobs invocation works on: what this execution's earlier invocation of
 * it kept, else the lane as the Map dealt it (its first invocation).
 */
export function laneToCopy(dealt: Lane, kept: KeptLane | undefined, started: string): Lane {
  if (!kept || kept.started !== started) return dealt;
  const left = new Set(kept.blobs);
  const blobs = dealt.blobs.filter((blob) => left.has(blob.digest));
  const first = kept.upload && blobs.find((blob) => blob.digest === kept.upload?.digest);
  return {
    digest: dealt.digest,
    blobs: first ? [first, ...blobs.filter((blob) => blob !== first)] : blobs,
    upload: first ? (kept.upload ?? null) : null,
  };
}
