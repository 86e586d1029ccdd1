import { createHash, type Hash } from 'node:crypto';
import type { Readable, Transform } from 'node:stream';
import type { BlobStream, UploadSession } from '#registry/blobs.ts';
import { type HashingStreamOptions, hashAlgorithm, hashingStream } from '#registry/digest.ts';
import {
  DigestMismatchError,
  RegistryError,
  RegistryNotFoundError,
  type StalledReadError,
} from '#registry/errors.ts';
import type { Descriptor } from '#registry/manifests.ts';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryableNetworkError, sleep } from '#registry/retry.ts';
import { CopyCancelledError, SourceStalledError } from './errors.ts';
import { ReadAhead } from './read-ahead.ts';
import type { BlobOutcome, RepositoryRef } from './types.ts';

/** Blobs up to this size go in one PUT; larger ones in PATCH chunks that can resume. */
export const DEFAULT_MONOLITHIC_LIMIT = 32 * 1024 * 1024;
/**
 * The workflow's chunk: each costs the destination's round trip (the next chunk's read overlaps
 * it), and a chunk is what a registry that keeps its sessions sends again after a cut. A 256 MiB
 * blob on 127.0.0.1 took 1.89 s in 64 MiB chunks, 1.62 s in 128 and 1.62 s in one PATCH
 * (docs/performance.md, "Choices that keep the cost low").
 */
export const DEFAULT_CHUNK_SIZE = 128 * 1024 * 1024;
/** Times a cut-off upload is resumed within one call before the error is raised. */
const MAX_RESUMES = 5;
/**
 * Stalls of the source in a row, with no byte past the furthest one read before, that end the
 * copy with SourceStalledError: about a minute with the default read-idle time. After real
 * progress the count starts again (MAX_RESUMES still bounds a call: 6 stalls ≈ 3 minutes).
 */
const MAX_STALLS_WITHOUT_PROGRESS = 2;
/**
 * With a time limit (`timeLeft`): each chunk is sized from the rate the chunks before it
 * measured, to end well before the time runs out. A chunk is never cut by the deadline, because
 * distribution cancels an upload whose PATCH was cut mid-body (docs/architecture.md). Before
 * anything is measured, a rest that fits the time left at ASSUMED_BYTES_PER_MS (the rate the
 * one-PUT choice assumes) goes as it is; a longer one starts with a probe chunk that measures the
 * link — a separate GET and PATCH, which an ordinary blob in a Lambda's minutes does not need.
 */
const PROBE_CHUNK = 4 * 1024 * 1024;
const MIN_CHUNK = 1024 * 1024;
/** A blob that would take longer than the time left at this rate goes in chunks, not one PUT. */
const ASSUMED_BYTES_PER_MS = 5_000;

export interface CopyBlobInput {
  source: RepositoryRef;
  destination: RepositoryRef;
  blob: Pick<Descriptor, 'digest' | 'size'>;
  /** Repositories of the destination registry that may hold the blob already: tried as mounts first. */
  mountFrom?: string[];
  /** The registry refused the mount from this repository (it does not hold the blob there now). */
  onMountRefused?: (repository: string) => void;
  /** An upload an earlier call (another invocation) left open. */
  resume?: UploadSession;
  /**
   * Stop after about this many bytes and return the open upload: a workflow spreads one big
   * blob over several invocations. Unset: copy to the end.
   */
  byteBudget?: number;
  /** The caller already checked the destination does not have the blob. */
  skipCheck?: boolean;
  chunkSize?: number;
  monolithicLimit?: number;
  signal?: AbortSignal | undefined;
  /** Bytes sent, as they go. */
  onProgress?: (bytes: number) => void;
  /** The source stalled mid-blob (before the copy resumes it, or gives up): for the log. */
  onStall?: (stall: SourceStall) => void;
  /**
   * Milliseconds the caller has left (a Lambda's remaining time): the copy stops between
   * chunks, with the upload open, well before they run out; the next call resumes it.
   */
  timeLeft?: (() => number) | undefined;
}

export interface SourceStall {
  digest: string;
  /** What stalled and how long nothing came, as the registry client says it. */
  message: string;
  /** Stalls in a row without progress, this one included. */
  stallsWithoutProgress: number;
  /** True when this stall ends the copy. */
  givingUp: boolean;
}

export type CopyBlobResult =
  | { outcome: BlobOutcome; bytesSent: number }
  | { outcome: 'partial'; bytesSent: number; upload: UploadSession };

/** A sha256 state for bytes [0, at) of the blob, kept only at offsets the destination confirmed. */
interface HashCheckpoint {
  hash: Hash;
  at: number;
}

/**
 * CopyBlob: makes the destination repository hold the blob. Mounts it when another repository
 * of the destination registry has it; otherwise streams it from the source (never held in
 * memory), verifying the digest, in one PUT for small blobs or resumable PATCH chunks for large
 * ones. A cut-off chunk resumes from the offset the destination reports.
 */
export async function copyBlob(input: CopyBlobInput): Promise<CopyBlobResult> {
  const { source, destination, blob, signal } = input;
  const cancelled = () => signal?.aborted === true;
  const throwIfCancelled = () => {
    if (cancelled()) throw cancellation(signal);
  };
  throwIfCancelled();

  if (!input.skipCheck && !input.resume) {
    const size = await destination.client.blobs.head(destination.repository, blob.digest, signal);
    if (size !== undefined) return { outcome: 'present', bytesSent: 0 };
  }

  const clock = input.timeLeft && timeBudget(input.timeLeft);
  const fitsOnePut = (offset: number) =>
    blob.size <= (input.monolithicLimit ?? DEFAULT_MONOLITHIC_LIMIT) &&
    offset === 0 &&
    (clock === undefined || blob.size <= PROBE_CHUNK || blob.size / ASSUMED_BYTES_PER_MS < clock.left());
  const chunkSize = input.chunkSize ?? DEFAULT_CHUNK_SIZE;
  // Up to the end of the blob: an open-ended range (also right for an empty blob).
  const rangeOf = (start: number, length: number) =>
    start + length < blob.size ? { start, length } : { start };

  const readRange = (start: number, length: number) =>
    source.client.blobs.get(source.repository, blob.digest, { ...rangeOf(start, length), signal });
  const ahead = new ReadAhead(readRange);
  const readAhead = (start: number, length: number) => {
    if (!cancelled()) ahead.start(start, length);
  };
  // An unsupported digest fails here, before a read is started that nothing would take.
  const algorithm = hashAlgorithm(blob.digest);

  // A blob with no mount to try: its first GET at the source — the whole blob for one PUT, else
  // its first chunk — starts while the upload session is opened at the destination.
  const onePut = fitsOnePut(0);
  const firstRead = onePut
    ? blob.size
    : Math.min(chunkSize, blob.size, clock ? clock.fits(blob.size) : blob.size);
  if (!input.resume && !input.mountFrom?.length && (onePut || firstRead > 0)) readAhead(0, firstRead);

  let upload: UploadSession | undefined = input.resume;
  try {
    if (upload) {
      try {
        upload = await destination.client.blobs.uploadStatus(destination.repository, upload.location, signal);
      } catch (error) {
        if (!isLostSession(error)) throw error;
        // The session ended: completed by an earlier try of this copy (a retried invocation
        // with the same input) — the blob is there — or dropped by the registry: start over.
        const size = await destination.client.blobs.head(destination.repository, blob.digest, signal);
        if (size !== undefined) return { outcome: 'present', bytesSent: 0 };
        const started = await destination.client.blobs.startUpload(destination.repository, { signal });
        if (started.mounted) return { outcome: 'mounted', bytesSent: 0 };
        upload = { location: started.location, offset: started.offset };
      }
    } else {
      for (const from of input.mountFrom ?? []) {
        const started = await destination.client.blobs.startUpload(destination.repository, {
          mount: { digest: blob.digest, from },
          signal,
        });
        if (started.mounted) return { outcome: 'mounted', bytesSent: 0 };
        input.onMountRefused?.(from);
        upload = { location: started.location, offset: started.offset };
        break; // A registry that refused one mount opened a session: use it rather than asking again.
      }
      if (!upload) {
        const started = await destination.client.blobs.startUpload(destination.repository, { signal });
        if (started.mounted) {
          ahead.close();
          return { outcome: 'mounted', bytesSent: 0 };
        }
        upload = { location: started.location, offset: started.offset };
      }
    }
  } catch (error) {
    ahead.close();
    throw error;
  }

  // Resuming another invocation's upload: its hash state is gone, so the destination's own
  // digest check at completion is the verification. Otherwise we hash every byte ourselves.
  let checkpoint: HashCheckpoint | undefined =
    input.resume === undefined || upload.offset === 0 ? { hash: createHash(algorithm), at: 0 } : undefined;
  const monolithic = fitsOnePut(upload.offset);
  let bytesSent = 0;
  let resumes = 0;
  // How far into the blob the source has delivered bytes, and how often it stalled since it last
  // went further: re-reading bytes a resume asked for again is not progress.
  let furthestRead = 0;
  let furthestAtLastStall = -1;
  let stallsWithoutProgress = 0;
  // Set by the source stream of the attempt under way, taken by the catch below.
  const attempt: { stall: StalledReadError | undefined } = { stall: undefined };

  // The source stream of the attempt under way. It is destroyed whatever happens to the
  // upload: left half-read, its connection would stay busy and the pool would never drain.
  let sourceBody: Readable | undefined;
  const readSource = async (
    start: number,
    length: number,
    hashing: HashingStreamOptions,
    started?: Promise<BlobStream>,
  ): Promise<Transform> => {
    // A read started ahead that failed while it waited (its GET refused, its connection reset)
    // is read again rather than failing the attempt.
    let stream = started && (await started.catch(() => undefined));
    if (stream?.body.errored) {
      stream.body.destroy();
      stream = undefined;
    }
    stream ||= await readRange(start, length);
    sourceBody = stream.body;
    let position = start;
    stream.body.on('data', (chunk: Buffer) => {
      position += chunk.length;
      furthestRead = Math.max(furthestRead, position);
    });
    const body = stream.body.pipe(
      hashingStream({ ...hashing, signal, onBytes: (n) => input.onProgress?.(n) }),
    );
    stream.body.on('error', (error: Error) => {
      // Remembered here: the upload it was feeding fails with an error of its own.
      if (error.name === 'StalledReadError') attempt.stall = error as StalledReadError;
      body.destroy(error);
    });
    return body;
  };

  // Whatever way the copy ends, a first read it did not use is dropped.
  try {
    for (;;) {
      sourceBody?.destroy();
      if (cancelled()) ahead.drop();
      throwIfCancelled();
      // The destination holds less than our hash state covers (it lost bytes): rehash from 0.
      if (checkpoint && checkpoint.at > upload.offset) checkpoint = { hash: createHash(algorithm), at: 0 };
      try {
        if (monolithic && upload.offset === 0 && resumes === 0) {
          const hash = (checkpoint as HashCheckpoint).hash.copy();
          const body = await readSource(
            0,
            blob.size,
            { hash, expectDigest: blob.digest },
            ahead.take(0, blob.size),
          );
          const whole = { stream: body, length: blob.size };
          await destination.client.blobs.completeUpload(
            destination.repository,
            upload.location,
            blob.digest,
            whole,
            signal,
          );
          return { outcome: 'copied', bytesSent: blob.size };
        }

        if (upload.offset >= blob.size) {
          if (checkpoint && checkpoint.at === blob.size) {
            const actual = `${algorithm}:${checkpoint.hash.copy().digest('hex')}`;
            if (actual !== blob.digest)
              throw new DigestMismatchError(`blob hashes to ${actual}, expected ${blob.digest}`);
          }
          await destination.client.blobs.completeUpload(
            destination.repository,
            upload.location,
            blob.digest,
            undefined,
            signal,
          );
          return { outcome: 'copied', bytesSent };
        }

        if (input.byteBudget !== undefined && bytesSent >= input.byteBudget) {
          return { outcome: 'partial', bytesSent, upload };
        }

        const offset = upload.offset;
        let length = Math.min(chunkSize, blob.size - offset);
        if (clock) {
          const fits = clock.fits(blob.size - offset);
          if (fits === 0) return { outcome: 'partial', bytesSent, upload };
          length = Math.min(length, fits);
        }
        // Read from the last confirmed hash state: bytes the destination has are hashed, not sent.
        const readFrom = checkpoint ? checkpoint.at : offset;
        const hash = checkpoint ? checkpoint.hash.copy() : createHash(algorithm);
        const started = readFrom === offset ? ahead.take(offset, length) : undefined;
        ahead.drop();
        const body = await readSource(
          readFrom,
          offset + length - readFrom,
          { hash, skip: offset - readFrom },
          started,
        );
        // Once this chunk is read, the next one's GET goes out while the destination answers
        // this one: the next chunk as the loop will ask for it if the destination confirms
        // this one, unless the byte budget ends the call here.
        const next = offset + length;
        if (next < blob.size && (input.byteBudget === undefined || bytesSent + length < input.byteBudget)) {
          sourceBody?.once('end', () => readAhead(next, Math.min(chunkSize, blob.size - next)));
        }
        const began = Date.now();
        upload = await destination.client.blobs.uploadChunk(
          destination.repository,
          upload.location,
          body,
          { offset, length },
          signal,
        );
        clock?.sent(length, Date.now() - began);
        bytesSent += length;
        if (checkpoint && upload.offset === offset + length) checkpoint = { hash, at: upload.offset };
      } catch (error) {
        sourceBody?.destroy();
        ahead.drop();
        if (cancelled()) throw cancellation(signal, error);
        const { stall } = attempt;
        attempt.stall = undefined;
        if (stall) {
          stallsWithoutProgress = furthestRead > furthestAtLastStall ? 1 : stallsWithoutProgress + 1;
          furthestAtLastStall = furthestRead;
          const givingUp = stallsWithoutProgress >= MAX_STALLS_WITHOUT_PROGRESS || resumes >= MAX_RESUMES;
          input.onStall?.({ digest: blob.digest, message: stall.message, stallsWithoutProgress, givingUp });
          if (givingUp) {
            throw new SourceStalledError(
              `source stalled: no bytes for ${stall.idleMs / 1000} s reading ${blob.digest} from ` +
                `${source.client.name}/${source.repository} (${stallsWithoutProgress} stalls without progress` +
                `, ${furthestRead} of ${blob.size} bytes read)`,
              { cause: stall },
            );
          }
        }
        // A stall is resumed whatever the upload it starved failed with.
        if (!stall && (!isResumable(error) || resumes >= MAX_RESUMES)) throw error;
        await sleep(backoffDelay(resumes++, DEFAULT_RETRY_POLICY), signal);
        try {
          upload = await destination.client.blobs.uploadStatus(
            destination.repository,
            upload.location,
            signal,
          );
        } catch (statusError) {
          if (!isLostSession(statusError)) throw statusError;
          // The session is gone. Distribution cancels a session whose PATCH was cut mid-body (its
          // state token no longer matches the bytes it wrote), so there a cut chunk restarts the
          // blob; a cut between chunks, or a registry that keeps the session, resumes.
          const started = await destination.client.blobs.startUpload(destination.repository, { signal });
          if (started.mounted) return { outcome: 'mounted', bytesSent };
          upload = { location: started.location, offset: started.offset };
          checkpoint = { hash: createHash(algorithm), at: 0 };
        }
      }
    }
  } finally {
    ahead.close();
  }
}

/**
 * How much of the time left one more chunk may take: a reserve (a fifth of what the call had,
 * 1–60 s) is kept for the answer and the record; the link's speed is measured as chunks go.
 */
function timeBudget(timeLeft: () => number) {
  const reserve = Math.min(60_000, Math.max(1000, timeLeft() * 0.2));
  let bytes = 0;
  let ms = 0;
  return {
    left: () => timeLeft() - reserve,
    sent(length: number, took: number) {
      bytes += length;
      ms += took;
    },
    /** Bytes the next chunk may carry (0: stop now), from the rate measured so far. */
    fits(remaining: number): number {
      const left = timeLeft() - reserve;
      if (left <= 0) return 0;
      if (ms === 0) return remaining / ASSUMED_BYTES_PER_MS < left ? remaining : PROBE_CHUNK;
      const fit = Math.floor((bytes / ms) * left * 0.8);
      return fit < MIN_CHUNK ? 0 : fit;
    },
  };
}

function isLostSession(error: unknown): boolean {
  if (error instanceof RegistryNotFoundError) return true;
  return (
    error instanceof RegistryError &&
    ['BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN'].includes(error.code ?? '')
  );
}

/** Network failures and retryable registry answers: the upload can go on from the destination's offset. */
function isResumable(error: unknown): boolean {
  if (error instanceof RegistryError) return error.retryable;
  return isRetryableNetworkError(error);
}

function cancellation(signal: AbortSignal | undefined, cause?: unknown): Error {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  return new CopyCancelledError('the copy was cancelled', cause === undefined ? undefined : { cause });
}
