import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/crossdock`, else `~/.cache/crossdock` (HOME from the environment given). */
export function cacheDirectory(env: NodeJS.ProcessEnv): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'crossdock');
  return join(env.HOME || homedir(), '.cache', 'crossdock');
}
