import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The API token of each `crossdock serve` a test started, by its URL: `runCli` sends it when the
 * test names that URL (`--api`) and gives no token of its own, as a user's shell would hold it in
 * CROSSDOCK_API_TOKEN.
 */
const tokens = new Map<string, string>();

export function rememberApiToken(url: string, token: string | undefined): void {
  if (token === undefined) tokens.delete(url);
  else tokens.set(url, token);
}

export function apiTokenFor(url: string): string | undefined {
  return tokens.get(url);
}

/** The token serve generated into its state folder (`<stateDir>/api-token`), if it did. */
export function generatedApiToken(stateDir: string): string | undefined {
  const file = join(stateDir, 'api-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}
