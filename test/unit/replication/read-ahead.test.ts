import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BlobStream } from '#registry/blobs.ts';
import { READ_AHEAD_KEPT_MS, ReadAhead } from '#replication/read-ahead.ts';

/** Reads that answer at once with an empty body, each remembered with its range. */
function fakeReads() {
  const reads: { start: number; length: number; body: PassThrough }[] = [];
  const read = async (start: number, length: number): Promise<BlobStream> => {
    const body = new PassThrough();
    reads.push({ start, length, body });
    return { body, start, length };
  };
  return { reads, read };
}

/** Lets the reads' promises settle. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('ReadAhead (a chunk’s source read started before the copy asks for it)', () => {
  it('hands over the read of exactly the range asked for, once', async () => {
    const { reads, read } = fakeReads();
    const ahead = new ReadAhead(read);

    ahead.start(64, 32);

    const taken = await ahead.take(64, 32);
    expect(taken?.body).toBe(reads[0]?.body);
    expect(ahead.take(64, 32)).toBeUndefined();
    expect(reads[0]?.body.destroyed).toBe(false);
  });

  it('drops a read of another range, or of another length, when the copy asks', async () => {
    const { reads, read } = fakeReads();
    const ahead = new ReadAhead(read);

    ahead.start(64, 32);
    expect(ahead.take(0, 32)).toBeUndefined();
    ahead.start(64, 32);
    expect(ahead.take(64, 16)).toBeUndefined();
    await settled();

    expect(reads.map((r) => r.body.destroyed)).toEqual([true, true]);
  });

  it('drops a read that waited longer than it may, so that the copy reads again', async () => {
    const { reads, read } = fakeReads();
    let now = 1_000;
    const ahead = new ReadAhead(read, () => now);

    ahead.start(0, 32);
    now += READ_AHEAD_KEPT_MS + 1;

    expect(ahead.take(0, 32)).toBeUndefined();
    await settled();
    expect(reads[0]?.body.destroyed).toBe(true);
  });

  it('replaces a read started before, and starts none once closed', async () => {
    const { reads, read } = fakeReads();
    const ahead = new ReadAhead(read);

    ahead.start(0, 32);
    ahead.start(32, 32);
    ahead.close();
    ahead.start(64, 32);
    await settled();

    expect(reads.map((r) => [r.start, r.body.destroyed])).toEqual([
      [0, true],
      [32, true],
    ]);
  });

  it('survives a read that fails before it is taken', async () => {
    const ahead = new ReadAhead(async () => {
      throw new Error('connection refused');
    });
    const body = new PassThrough();
    const failing = new ReadAhead(async (start, length) => ({ body, start, length }));

    ahead.start(0, 32);
    failing.start(0, 32);
    await settled();
    body.destroy(new Error('connection reset'));
    await settled();

    await expect(ahead.take(0, 32)).rejects.toThrow('connection refused');
    expect((await failing.take(0, 32))?.body.errored?.message).toBe('connection reset');
  });
});
