import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiTokenFileError } from './errors.ts';

/**
 * The token the local API always needs. Without one, any web page the operator opens could
 * drive the API from the browser (issue 15), so when the config sets no `api.token` serve
 * generates one at its first start into `<state-dir>/api-token`: one line, readable by the
 * operator only (0600, in a 0700 state folder), where the CLI run in the same folder finds it.
 */

export const API_TOKEN_FILE = 'api-token';

export interface ApiToken {
  token: string;
  /** `config`: the config's `api.token`; `created`: generated now; `file`: generated at an earlier start. */
  origin: 'config' | 'created' | 'file';
  /** Where a generated token is kept. */
  file: string;
}

/** The state folder, created readable by its owner only: it holds the token and the records. */
export async function makeStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
}

export async function resolveApiToken(options: {
  configured: string | undefined;
  stateDir: string;
}): Promise<ApiToken> {
  const file = join(options.stateDir, API_TOKEN_FILE);
  if (options.configured !== undefined && options.configured !== '') {
    return { token: options.configured, origin: 'config', file };
  }
  const existing = await readTokenFile(file);
  if (existing !== undefined) return { token: existing, origin: 'file', file };
  await makeStateDir(options.stateDir);
  // 256 bits, URL-safe: fits a header and a shell variable without quoting.
  const token = randomBytes(32).toString('base64url');
  try {
    // `wx`: a second serve starting at the same moment keeps the first one's token.
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const raced = await readTokenFile(file);
    if (raced === undefined) throw new ApiTokenFileError(`${file} is empty: delete it to get a new token`);
    return { token: raced, origin: 'file', file };
  }
  return { token, origin: 'created', file };
}

async function readTokenFile(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ApiTokenFileError(`cannot read the API token in ${file}: ${(error as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new ApiTokenFileError(`${file} is empty: delete it to get a new token`);
  return token;
}
