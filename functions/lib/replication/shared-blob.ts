import { sleep } from '#registry/retry.ts';
import type { SharedBlobs } from './blob-index.ts';
import { type CopyBlobInput, type CopyBlobResult, copyBlob } from './copy-blob.ts';
import type { RepositoryRef } from './types.ts';

/**
 * One blob missing from its destination repository, with the other repositories of the
 * destination registry in mind (docs/architecture.md, "Mounts"): mount it from one the index
 * names; else copy it holding the blob's claim; else — another job holds the claim — wait for
 * that copy to land and mount it. A stale index entry costs one refused mount, after which the
 * registry's upload session carries the copy, and the entry is forgotten.
 */

export interface SharedCopyInput extends CopyBlobInput {
  shared: SharedBlobs;
  /** Who copies: a job's attempt in the pipeline (its next invocations keep the claim), a call in the CLI. */
  holder: string;
  /**
   * How long to wait for another holder's copy before answering `waiting` (the workflow's task
   * returns then, freeing its invocation, and comes back). Unset: until it lands or its claim expires.
   */
  waitMs?: number;
  /** Renew the claim this often while copying (its time to live / 3); unset: claims do not expire. */
  renewClaimEveryMs?: number;
  /**
   * The copy starts waiting for another holder's copy; answers what to call when that wait ends
   * (the local runtime lends the job's running slot meanwhile: jobs/slot-lending.ts).
   */
  onWait?: () => () => void;
}

export type SharedCopyResult = CopyBlobResult | { outcome: 'waiting'; bytesSent: 0 };

const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 2000;

/**
 * The pipeline's `minBytes`: blobs smaller than this are copied as they are, no claim, no
 * index. Copying one twice costs less than the record operations that would share it (an index
 * read, a claim, a release, an index write), which on a small image made the push-to-replica
 * time half as long again (measured: median 0.32 → 0.48 s in `npm run bench`). The CLI's index
 * is in memory and a file: it shares every blob.
 */
export const SHARED_COPY_MIN_BYTES = 1024 * 1024;

/** Whether a blob is worth the blob index and a claim. */
export const sharesBlob = (shared: SharedBlobs, blob: { size: number }) =>
  blob.size >= (shared.minBytes ?? 0);

/**
 * Whether the destination repository holds the blob (one HEAD); a blob it holds that is worth
 * sharing goes into the blob index, so later jobs mount it from there.
 */
export async function holdsBlob(
  destination: RepositoryRef,
  blob: { digest: string; size: number },
  shared: SharedBlobs | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  const size = await destination.client.blobs.head(destination.repository, blob.digest, signal);
  if (size === undefined) return false;
  if (shared && sharesBlob(shared, blob))
    await shared.index.remember(destination.client.host, blob.digest, destination.repository);
  return true;
}

export async function copySharedBlob(input: SharedCopyInput): Promise<SharedCopyResult> {
  const { shared, holder, destination, blob, signal } = input;
  if (!sharesBlob(shared, blob)) return copyBlob(input);
  const registry = destination.client.host;

  if (!input.skipCheck && !input.resume && (await holdsBlob(destination, blob, shared, signal)))
    return { outcome: 'present', bytesSent: 0 };
  // An upload this holder left open (a workflow's earlier invocation): it holds the claim still.
  // A mount the caller knows will do (the source repository, in the same registry) needs none.
  let claimed = input.resume !== undefined;
  let from: string[] = [];
  const renew = () =>
    shared.claims.renew
      ? shared.claims.renew(registry, blob.digest, holder)
      : shared.claims.claim(registry, blob.digest, holder);
  if (claimed) {
    // Its own still, unless it expired and went meanwhile: then it is taken again if it can be.
    if (!(await renew()) && shared.claims.renew) await shared.claims.claim(registry, blob.digest, holder);
  } else if (!input.mountFrom?.length) {
    const turn = await takeTurn(input, registry);
    if ('outcome' in turn) return { outcome: turn.outcome, bytesSent: 0 };
    ({ claimed, from } = turn);
  }

  const renewal =
    claimed && input.renewClaimEveryMs !== undefined
      ? setInterval(() => {
          renew().catch(() => undefined);
        }, input.renewClaimEveryMs)
      : undefined;
  let result: CopyBlobResult | undefined;
  let handedOver = false; // the claim given up by the write that names the blob's new holder
  try {
    result = await copyBlob({
      ...input,
      skipCheck: true,
      mountFrom: [...(input.mountFrom ?? []), ...from],
      onMountRefused: (repository) => {
        input.onMountRefused?.(repository);
        if (from.includes(repository))
          shared.index.forget(registry, blob.digest, repository).catch(() => undefined);
      },
    });
    if (renewal) clearInterval(renewal); // no renewal may land after the claim is given up
    if (result.outcome !== 'partial') {
      // A failed hand-over (throttled, say) leaves it to the index's write and the release.
      handedOver =
        claimed &&
        (await shared.claims
          .releaseHolding?.(registry, blob.digest, holder, destination.repository)
          .catch(() => false)) === true;
      if (!handedOver) await shared.index.remember(registry, blob.digest, destination.repository);
    }
    return result;
  } finally {
    if (renewal) clearInterval(renewal);
    // A partial copy keeps its claim for the invocation that resumes it; anything else ends it.
    if (claimed && !handedOver && result?.outcome !== 'partial')
      await shared.claims.release(registry, blob.digest, holder).catch(() => undefined);
  }
}

/**
 * Whose copy this blob comes from: a repository of the destination registry that holds it now
 * (`from`: mount it), else this holder's (it took the blob's claim), else — another holder
 * copies it — wait for that copy, polling the index and the claim, until `waitMs` ends
 * (`waiting`). Present: another tag of this same repository copied it meanwhile.
 */
async function takeTurn(
  input: SharedCopyInput,
  registry: string,
): Promise<{ outcome: 'present' | 'waiting' } | { claimed: boolean; from: string[] }> {
  const { shared, holder, destination, blob, signal } = input;
  const others = (repositories: string[]) => repositories.filter((r) => r !== destination.repository);
  // The index names us: it is here now, if the registry agrees — an entry can be stale, and it
  // was missing when we started.
  const landedHere = async (holders: string[]) =>
    holders.includes(destination.repository) &&
    (await destination.client.blobs.head(destination.repository, blob.digest, signal)) !== undefined;
  const deadline = Date.now() + (input.waitMs ?? Number.POSITIVE_INFINITY);
  let waitEnds: (() => void) | undefined;
  let handedBack = false;
  try {
    for (let poll = FIRST_POLL_MS; ; poll = Math.min(poll * 2, MAX_POLL_MS)) {
      const holders = await shared.index.holders(registry, blob.digest);
      if (await landedHere(holders)) return { outcome: 'present' };
      // The index names this repository, the registry says no (deleted since, collected): the
      // entry goes, or claims kept with the index would be refused until it expired.
      if (holders.includes(destination.repository))
        await shared.index.forget(registry, blob.digest, destination.repository);
      if (others(holders).length > 0) return { claimed: false, from: others(holders) };
      if (await shared.claims.claim(registry, blob.digest, holder)) {
        // Claims kept with the index are refused while it names a holder: nothing to look at.
        if (shared.claims.releaseHolding) return { claimed: true, from: [] };
        // The holder before us may have finished between our read and our claim: look once more.
        // That look is outside the copy's own `finally`: a claim it fails with (stopped, the
        // registry unreachable) goes back here, or the CLI's claims, which do not expire, would
        // keep the other tags waiting for this blob for good.
        try {
          const after = await shared.index.holders(registry, blob.digest);
          if (await landedHere(after)) {
            await shared.claims.release(registry, blob.digest, holder);
            return { outcome: 'present' };
          }
          const from = others(after);
          if (from.length > 0) await shared.claims.release(registry, blob.digest, holder);
          return { claimed: from.length === 0, from };
        } catch (error) {
          await shared.claims.release(registry, blob.digest, holder).catch(() => undefined);
          throw error;
        }
      }
      if (Date.now() >= deadline) {
        handedBack = true; // still waiting, until the state's Retry calls again
        return { outcome: 'waiting' };
      }
      waitEnds ??= input.onWait?.();
      await pause(shared, registry, blob.digest, Math.min(poll, Math.max(0, deadline - Date.now())), signal);
    }
  } finally {
    if (!handedBack) waitEnds?.();
  }
}

/**
 * Waits `ms`, or less: claims that can say when they are given up wake the waiter at once; the
 * poll stays the safety net (and the only way for the table's claims).
 */
async function pause(
  shared: SharedBlobs,
  registry: string,
  digest: string,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (!shared.claims.released) return sleep(ms, signal);
  const woken = new AbortController();
  const timer = sleep(ms, signal ? AbortSignal.any([signal, woken.signal]) : woken.signal);
  timer.catch(() => undefined);
  try {
    await Promise.race([shared.claims.released(registry, digest, woken.signal), timer]);
  } finally {
    woken.abort(); // neither the pause's timer nor the release's waiter outlives the wait
  }
  signal?.throwIfAborted();
}
