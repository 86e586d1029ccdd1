import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BLOB_INDEX_TTL_DAYS } from '#config/defaults.ts';
import type { BlobIndex, SharedBlobs } from '#replication/blob-index.ts';
import { BlobLocations, LocalBlobClaims, MAX_HOLDERS_PER_BLOB } from '#replication/blob-locations.ts';
import { cacheDirectory } from './cache-directory.ts';

/**
 * The one-shot CLI's blob index, kept between runs in a cache file, as skopeo keeps its
 * blob-info cache: `$XDG_CACHE_HOME/crossdock/blob-locations.json`, else
 * `~/.cache/crossdock/blob-locations.json`. A second `crossdock copy` into another repository of
 * a registry then mounts the layers the first one copied there (docs/architecture.md, "Mounts").
 *
 * A hint only: a corrupt or unreadable file counts as empty, and a wrong entry costs one refused
 * mount. Saved atomically (a temporary file renamed over it); what another run saved meanwhile
 * is read again and this run's changes applied on top, so parallel runs lose nothing but races
 * on one entry. Bounded: entries older than the index's time to live go, and at most
 * MAX_ENTRIES per file, the least recently seen first.
 */

export const CACHE_FILE = 'blob-locations.json';
const MAX_ENTRIES = 20_000;
const TTL_MS = BLOB_INDEX_TTL_DAYS * 86_400_000;

interface Entry {
  repositories: string[];
  /** When a run last confirmed it (epoch ms). */
  seen: number;
}

interface CacheFile {
  version: 1;
  /** host[:port] → digest → entry */
  registries: Record<string, Record<string, Entry>>;
}

type Change = {
  kind: 'remember' | 'forget';
  registry: string;
  digest: string;
  repository: string;
  at: number;
};

const key = (registry: string, digest: string) => `${registry} ${digest}`;

function parse(text: string, now: number): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  let file: CacheFile;
  try {
    file = JSON.parse(text) as CacheFile;
  } catch {
    return entries;
  }
  if (file?.version !== 1 || typeof file.registries !== 'object' || file.registries === null) return entries;
  for (const [registry, digests] of Object.entries(file.registries)) {
    if (typeof digests !== 'object' || digests === null) continue;
    for (const [digest, entry] of Object.entries(digests)) {
      const repositories = Array.isArray(entry?.repositories)
        ? entry.repositories.filter((r): r is string => typeof r === 'string')
        : [];
      const seen = typeof entry?.seen === 'number' ? entry.seen : 0;
      if (repositories.length > 0 && now - seen < TTL_MS)
        entries.set(key(registry, digest), {
          repositories: repositories.slice(0, MAX_HOLDERS_PER_BLOB),
          seen,
        });
    }
  }
  return entries;
}

function apply(entries: Map<string, Entry>, change: Change): void {
  const k = key(change.registry, change.digest);
  const current = entries.get(k)?.repositories ?? [];
  const repositories =
    change.kind === 'remember'
      ? [change.repository, ...current.filter((r) => r !== change.repository)].slice(0, MAX_HOLDERS_PER_BLOB)
      : current.filter((r) => r !== change.repository);
  if (repositories.length === 0) entries.delete(k);
  else
    entries.set(k, {
      repositories,
      seen: change.kind === 'remember' ? change.at : (entries.get(k)?.seen ?? change.at),
    });
}

function serialise(entries: Map<string, Entry>): string {
  const newest = [...entries].sort((a, b) => b[1].seen - a[1].seen).slice(0, MAX_ENTRIES);
  const file: CacheFile = { version: 1, registries: {} };
  for (const [k, entry] of newest) {
    const [registry, digest] = k.split(' ') as [string, string];
    file.registries[registry] ??= {};
    file.registries[registry][digest] = entry;
  }
  return `${JSON.stringify(file)}\n`;
}

export class FileBlobIndex implements BlobIndex {
  readonly path: string;
  readonly #entries: Map<string, Entry>;
  readonly #changes: Change[] = [];
  readonly #now: () => number;

  private constructor(path: string, entries: Map<string, Entry>, now: () => number) {
    this.path = path;
    this.#entries = entries;
    this.#now = now;
  }

  /** Reads the cache file of `directory`; a missing, unreadable or corrupt one is an empty index. */
  static async open(directory: string, now: () => number = Date.now): Promise<FileBlobIndex> {
    const path = join(directory, CACHE_FILE);
    const text = await readFile(path, 'utf8').catch(() => '');
    return new FileBlobIndex(path, parse(text, now()), now);
  }

  async holders(registry: string, digest: string): Promise<string[]> {
    return [...(this.#entries.get(key(registry, digest))?.repositories ?? [])];
  }

  async remember(registry: string, digest: string, repository: string): Promise<void> {
    this.#change({ kind: 'remember', registry, digest, repository, at: this.#now() });
  }

  async forget(registry: string, digest: string, repository: string): Promise<void> {
    this.#change({ kind: 'forget', registry, digest, repository, at: this.#now() });
  }

  #change(change: Change): void {
    apply(this.#entries, change);
    this.#changes.push(change);
  }

  /**
   * Writes this run's changes over what the file holds now, atomically. Never throws: a cache
   * that cannot be written costs the next run some mounts, not this run its result.
   */
  async save(): Promise<void> {
    if (this.#changes.length === 0) return;
    const directory = join(this.path, '..');
    const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const current = parse(await readFile(this.path, 'utf8').catch(() => ''), this.#now());
      for (const change of this.#changes) apply(current, change);
      await writeFile(temporary, serialise(current), { mode: 0o600 });
      await rename(temporary, this.path);
      this.#changes.length = 0;
    } catch {
      await rm(temporary, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * The shared blobs of one `copy` or `sync` run: the cache file's index (none with `--no-cache`;
 * a dry run reads it to say what it would mount, and writes nothing), claims within this
 * process; `save` at the end.
 */
export async function runBlobs(
  env: NodeJS.ProcessEnv,
  options: { cache?: boolean | undefined; dryRun?: boolean | undefined },
): Promise<{ shared: SharedBlobs; save(): Promise<void> }> {
  const file = options.cache !== false ? await FileBlobIndex.open(cacheDirectory(env)) : undefined;
  return {
    shared: { index: file ?? new BlobLocations(), claims: new LocalBlobClaims() },
    save: async () => {
      if (options.dryRun !== true) await file?.save();
    },
  };
}
