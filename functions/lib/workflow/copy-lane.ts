import { type CopyBlobInput, copyBlob, DEFAULT_MONOLITHIC_LIMIT } from '#replication/copy-blob.ts';
import { mapLimit } from '#replication/limit.ts';
import { copySharedBlob } from '#replication/shared-blob.ts';
import type { RepositoryRef } from '#replication/types.ts';
import type { Job, OpenUpload, Progress } from '../jobs/job.ts';
import { watchCancellation } from './cancellation.ts';
import type { BlobRef, Lane } from './lanes.ts';
import type { TaskDependencies } from './ports.ts';

/** How long a copy waits for another job's copy of its blob before it hands back (the lane waits). */
export const DEFAULT_CLAIM_WAIT_MS = 5000;

export interface Sides {
  source: RepositoryRef;
  destination: RepositoryRef;
}

/** What a copy left of its lane: nothing, or the blobs still to move. */
export interface LaneCopied {
  /** Undefined when every blob of the lane is at the destination now. */
  left: Lane | undefined;
  /** Only blobs another job copies are left (wait, then mount them); else the byte budget ran out. */
  waiting: boolean;
  progress: Required<Progress>;
}

/**
 * Mounts or copies the blobs of a lane, `concurrency` at once (FetchManifest copies a small
 * image's blobs side by side; a MountOrCopyBlobs invocation copies its lane's in turn), within
 * the invocation's byte budget. Answers what is left of the lane — a blob cut at the budget
 * leads it with its open upload, blobs another job copies follow — and the progress to record,
 * which the caller writes with its substate in one write; the caller keeps what is left.
 */
export async function copyLane(
  deps: TaskDependencies,
  job: Job,
  sides: Sides,
  lane: Lane,
  concurrency: number,
): Promise<LaneCopied> {
  const progress = { copied: 0, mounted: 0, present: 0, bytes: 0 };
  const cancellation = watchCancellation(deps.jobs, job.id, deps.cancelPollMs ?? 2000);
  const signal = deps.signal ? AbortSignal.any([cancellation.signal, deps.signal]) : cancellation.signal;
  let budget = deps.byteBudget;
  let cut: { blob: BlobRef; upload: OpenUpload } | undefined;
  const untouched: BlobRef[] = [];
  const waiting: BlobRef[] = [];
  const claimWaitMs = deps.claimWaitMs ?? DEFAULT_CLAIM_WAIT_MS;
  const copyOne = async (blob: BlobRef, upload: OpenUpload | null, waitMs: number) => {
    // The budget is spent (a blob was cut at it): the rest go to the next invocation.
    if (cut || budget <= 0) {
      untouched.push(blob);
      return;
    }
    const result = await mountOrCopy(deps, job, sides, blob, { upload, budget, signal, waitMs });
    budget -= result.bytesSent;
    progress.bytes += result.bytesSent;
    if (result.outcome === 'waiting') waiting.push(blob);
    else if (result.outcome === 'partial') {
      // Cut at the time left, side by side: one lane leads with one open upload; the other starts over.
      if (cut) untouched.push(blob);
      else cut = { blob, upload: { digest: blob.digest, ...result.upload } };
    } else progress[result.outcome]++;
  };
  // A blob another job is copying is not waited for while the lane has blobs of its own to move:
  // those go first, and the lane waits for the other copies after them (docs/architecture.md, "Mounts").
  const defer = lane.blobs.length > 1;
  try {
    await mapLimit(lane.blobs, concurrency, (blob, index) =>
      copyOne(
        blob,
        index === 0 && lane.upload?.digest === blob.digest ? lane.upload : null,
        defer ? 0 : claimWaitMs,
      ),
    );
    if (defer && waiting.length > 0) {
      const deferred = waiting.splice(0);
      await mapLimit(deferred, concurrency, (blob) => copyOne(blob, null, claimWaitMs));
    }
  } finally {
    cancellation.stop();
  }
  const blobs = [...(cut ? [cut.blob] : []), ...untouched, ...waiting];
  return {
    left: blobs.length > 0 ? { digest: lane.digest, blobs, upload: cut?.upload ?? null } : undefined,
    waiting: blobs.length > 0 && waiting.length === blobs.length,
    progress,
  };
}

/** One blob: mounted (from the index, or the source repository in the same registry), else streamed. */
async function mountOrCopy(
  deps: TaskDependencies,
  job: Job,
  { source, destination }: Sides,
  blob: BlobRef,
  {
    upload,
    budget,
    signal,
    waitMs,
  }: { upload: OpenUpload | null; budget: number; signal: AbortSignal; waitMs: number },
) {
  const copy: CopyBlobInput = {
    source,
    destination,
    blob,
    mountFrom: source.client.host === destination.client.host ? [source.repository] : [],
    // FetchManifest looked: one HEAD per blob and job.
    skipCheck: true,
    byteBudget: budget,
    // A blob over the budget goes in chunks, so it can stop at the budget and resume.
    monolithicLimit: Math.min(DEFAULT_MONOLITHIC_LIMIT, deps.byteBudget),
    signal,
    timeLeft: deps.timeLeft,
    onStall: (stall) =>
      deps.warn?.(stall.message, {
        jobId: job.id,
        digest: stall.digest,
        stallsWithoutProgress: stall.stallsWithoutProgress,
        givingUp: stall.givingUp,
      }),
    ...(upload ? { resume: { location: upload.location, offset: upload.offset } } : {}),
    ...(deps.chunkSize ? { chunkSize: deps.chunkSize } : {}),
  };
  if (!deps.sharedBlobs) return copyBlob(copy);
  // While every blob of the job in flight waits for another job's copy, its slot is lent.
  const lent = deps.slotLending?.blob(job);
  try {
    return await copySharedBlob({
      ...copy,
      shared: deps.sharedBlobs,
      // The job's attempt: its next invocations (a big blob's chunks) keep the claim.
      holder: `${job.id}#${job.attempt}`,
      waitMs,
      ...(deps.renewClaimEveryMs ? { renewClaimEveryMs: deps.renewClaimEveryMs } : {}),
      ...(lent ? { onWait: () => lent.waits() } : {}),
    });
  } finally {
    lent?.ends();
  }
}
