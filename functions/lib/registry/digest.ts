import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError } from './errors.ts';

export function hashAlgorithm(digest: string): 'sha256' | 'sha512' {
  const algorithm = digest.slice(0, digest.indexOf(':'));
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new DigestMismatchError(`digest algorithm "${algorithm}" is not supported`);
  }
  return algorithm;
}

export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Throws unless `bytes` hash to `digest` (whatever its algorithm). */
export function verifyDigest(bytes: Uint8Array, digest: string, what: string): void {
  const actual = digestOf(bytes, hashAlgorithm(digest));
  if (actual !== digest)
    throw new DigestMismatchError(`${what}: content hashes to ${actual}, expected ${digest}`);
}

export interface HashingStreamOptions {
  /** Hash state to continue from; the stream updates it in place. */
  hash: Hash;
  /** Bytes to hash but not pass on: resuming an upload hashes what the destination already has. */
  skip?: number;
  /** Called with the number of bytes passed on, after each chunk. */
  onBytes?: (bytes: number) => void;
  /** When set, `_flush` fails unless the hash (of everything so far) equals it: a bad source never completes. */
  expectDigest?: string;
  /** Called when the stream starts, to cancel long copies between chunks. */
  signal?: AbortSignal | undefined;
}

/**
 * Passes bytes through while hashing them. Backpressure is the pipe's: nothing is buffered
 * beyond the stream's high-water mark, whatever the blob size.
 */
export function hashingStream(options: HashingStreamOptions): Transform {
  let toSkip = options.skip ?? 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (options.signal?.aborted) {
        callback(options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted'));
        return;
      }
      options.hash.update(chunk);
      if (toSkip >= chunk.length) {
        toSkip -= chunk.length;
        callback();
        return;
      }
      const out = toSkip > 0 ? chunk.subarray(toSkip) : chunk;
      toSkip = 0;
      options.onBytes?.(out.length);
      callback(null, out);
    },
    flush(callback: TransformCallback) {
      if (options.expectDigest !== undefined) {
        const actual = `${hashAlgorithm(options.expectDigest)}:${options.hash.copy().digest('hex')}`;
        if (actual !== options.expectDigest) {
          callback(new DigestMismatchError(`blob hashes to ${actual}, expected ${options.expectDigest}`));
          return;
        }
      }
      callback();
    },
  });
}
