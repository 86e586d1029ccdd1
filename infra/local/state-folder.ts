import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

/**
 * The state folder holds the records, the queues and the vault of secrets: only its owner may
 * read it. It is made 0700, and everything in it 0700 (folders) or 0600 (files) — a folder
 * made by an older crossdock (0755, files 0644) is tightened at start, and the caller logs
 * what was. The process's umask becomes 0077 while the runtime runs, so the files dynalite's
 * LevelDB and fauxqs's SQLite create later are 0600 too (the umask is per process; a worker
 * thread cannot set it, and the folder's 0700 keeps others out regardless).
 */

export interface SecuredStateFolder {
  /** Paths whose mode was wider than 0700/0600, tightened now. */
  tightened: string[];
  /** Puts the umask back as it was (the runtime's stop). */
  restoreUmask(): void;
}

const PRIVATE_FOLDER = 0o700;
const PRIVATE_FILE = 0o600;

export async function secureStateFolder(stateDir: string): Promise<SecuredStateFolder> {
  const previousUmask = isMainThread ? process.umask(0o077) : undefined;
  await mkdir(stateDir, { recursive: true, mode: PRIVATE_FOLDER });
  const tightened: string[] = [];
  await tighten(stateDir, tightened);
  return {
    tightened,
    restoreUmask() {
      if (previousUmask !== undefined) process.umask(previousUmask);
    },
  };
}

/** Symbolic links are left alone: chmod would change what they point to, maybe outside. */
async function tighten(path: string, tightened: string[]): Promise<void> {
  const stats = await lstat(path);
  if (stats.isSymbolicLink()) return;
  const wanted = stats.isDirectory() ? PRIVATE_FOLDER : PRIVATE_FILE;
  // Only permissions are taken away: an owner's execute bit on a file stays.
  const mode = stats.mode & 0o777;
  if ((mode & 0o077) !== 0 || (stats.isDirectory() && mode !== wanted)) {
    await chmod(path, stats.isDirectory() ? wanted : mode & 0o700);
    tightened.push(path);
  }
  if (!stats.isDirectory()) return;
  for (const entry of await readdir(path)) await tighten(join(path, entry), tightened);
}
