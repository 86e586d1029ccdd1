import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE_FILE, FileBlobIndex } from '../../../cli/blob-cache.ts';
import { cacheDirectory } from '../../../cli/cache-directory.ts';

const folder = () => join(mkdtempSync(join(tmpdir(), 'crossdock-blob-cache-')), 'crossdock');
const BLOB = `sha256:${'a'.repeat(64)}`;

describe("the CLI's blob-location cache", () => {
  it('lives under $XDG_CACHE_HOME/crossdock, else ~/.cache/crossdock', () => {
    expect(cacheDirectory({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/crossdock');
    expect(cacheDirectory({ HOME: '/home/u' })).toBe('/home/u/.cache/crossdock');
  });

  it('remembers where a blob is for the next run, newest first, in a file only its owner reads', async () => {
    const dir = folder();
    const first = await FileBlobIndex.open(dir);
    await first.remember('127.0.0.1:5001', BLOB, 'mirror/one');
    await first.remember('127.0.0.1:5001', BLOB, 'mirror/two');
    await first.save();

    const next = await FileBlobIndex.open(dir);
    expect(await next.holders('127.0.0.1:5001', BLOB)).toEqual(['mirror/two', 'mirror/one']);
    expect(await next.holders('127.0.0.1:5002', BLOB)).toEqual([]);
    expect(statSync(join(dir, CACHE_FILE)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([CACHE_FILE]); // written atomically: no temporary file left
  });

  it('counts a corrupt file as empty, and replaces it at the next save', async () => {
    const dir = folder();
    const seed = await FileBlobIndex.open(dir);
    await seed.remember('127.0.0.1:5001', BLOB, 'mirror/one');
    await seed.save();
    writeFileSync(join(dir, CACHE_FILE), '{"version":1,"registries":{"127.0.0.1:5001":{"sha256:');

    const index = await FileBlobIndex.open(dir);
    expect(await index.holders('127.0.0.1:5001', BLOB)).toEqual([]);
    await index.remember('127.0.0.1:5001', BLOB, 'mirror/two');
    await index.save();
    expect(
      JSON.parse(readFileSync(join(dir, CACHE_FILE), 'utf8')).registries['127.0.0.1:5001'][BLOB],
    ).toMatchObject({
      repositories: ['mirror/two'],
    });
  });

  it('keeps what another run saved meanwhile, and applies this run’s forgetting on top', async () => {
    const dir = folder();
    const seed = await FileBlobIndex.open(dir);
    await seed.remember('127.0.0.1:5001', BLOB, 'mirror/stale');
    await seed.save();
    const [a, b] = await Promise.all([FileBlobIndex.open(dir), FileBlobIndex.open(dir)]);

    await a.remember('127.0.0.1:5001', BLOB, 'mirror/a');
    await a.save();
    await b.forget('127.0.0.1:5001', BLOB, 'mirror/stale');
    await b.remember('127.0.0.1:5001', `sha256:${'b'.repeat(64)}`, 'mirror/b');
    await b.save();

    const after = await FileBlobIndex.open(dir);
    expect(await after.holders('127.0.0.1:5001', BLOB)).toEqual(['mirror/a']);
    expect(await after.holders('127.0.0.1:5001', `sha256:${'b'.repeat(64)}`)).toEqual(['mirror/b']);
  });

  it('drops entries not confirmed for 30 days', async () => {
    const dir = folder();
    let now = Date.parse('2025-01-01T00:00:00Z');
    const old = await FileBlobIndex.open(dir, () => now);
    await old.remember('127.0.0.1:5001', BLOB, 'mirror/one');
    await old.save();

    now += 31 * 86_400_000;
    expect(await (await FileBlobIndex.open(dir, () => now)).holders('127.0.0.1:5001', BLOB)).toEqual([]);
  });
});
