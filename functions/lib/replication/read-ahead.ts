import type { BlobStream } from '#registry/blobs.ts';

/**
 * How long a read started ahead may wait and still be taken. It normally waits for a PATCH's
 * answer (well under a second); a source that drops idle connections could end one that waited
 * much longer mid-body, which would cut the chunk it feeds and, at distribution, cost the upload
 * session. Past this, the copy reads again.
 */
export const READ_AHEAD_KEPT_MS = 10_000;

/**
 * A read of the source a copy starts before it needs the bytes, so that the read's round trip
 * overlaps another one (docs/architecture.md, "How a blob is copied"): the first chunk's while
 * the upload session opens, each next chunk's while the destination answers the chunk before.
 * The copy takes it only when it asks for exactly that range; otherwise (the session came back
 * mounted, the destination confirmed another offset, the time left shortened the chunk, the
 * attempt failed) its body is destroyed, which frees its connection. Unread meanwhile, the
 * body holds a stream's buffer and keeps its connection paused; undici's body timeout does not
 * run while it is paused.
 */
export class ReadAhead {
  readonly #read: (start: number, length: number) => Promise<BlobStream>;
  readonly #now: () => number;
  #ahead: { start: number; length: number; at: number; stream: Promise<BlobStream> } | undefined;
  #closed = false;

  constructor(read: (start: number, length: number) => Promise<BlobStream>, now: () => number = Date.now) {
    this.#read = read;
    this.#now = now;
  }

  /** Starts reading `length` bytes from `start`, in place of any read started before. */
  start(start: number, length: number): void {
    if (this.#closed) return;
    this.drop();
    const stream = this.#read(start, length);
    // Failing before it is taken must not take the process down: take() answers it as it is,
    // and the copy reads again (copy-blob.ts, readSource).
    stream.then(
      ({ body }) => body.on('error', () => undefined),
      () => undefined,
    );
    this.#ahead = { start, length, at: this.#now(), stream };
  }

  /**
   * The read started for exactly this range, if there is one and it has not waited longer than
   * READ_AHEAD_KEPT_MS; any other is dropped.
   */
  take(start: number, length: number): Promise<BlobStream> | undefined {
    const ahead = this.#ahead;
    if (ahead?.start !== start || ahead.length !== length || this.#now() - ahead.at > READ_AHEAD_KEPT_MS) {
      this.drop();
      return undefined;
    }
    this.#ahead = undefined;
    return ahead.stream;
  }

  /** Destroys the body of a read started and not taken. */
  drop(): void {
    const dropped = this.#ahead;
    this.#ahead = undefined;
    dropped?.stream.then(
      ({ body }) => body.destroy(),
      () => undefined,
    );
  }

  /** The copy is over: drops what is left, and `start` does nothing from now on. */
  close(): void {
    this.#closed = true;
    this.drop();
  }
}
