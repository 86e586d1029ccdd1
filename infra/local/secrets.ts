import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Secrets for the local runtime, behind the same accessor the deployed functions use for
 * Secrets Manager: `CROSSDOCK_SECRET_<NAME>` from the environment (the name upper-cased, every
 * other character `_`), else `secrets.json` in the state folder (`{"name": "value"}`).
 */
export function localSecrets(options: { stateDir: string; env?: NodeJS.ProcessEnv }) {
  const env = options.env ?? process.env;
  const file = join(options.stateDir, 'secrets.json');
  return async (name: string): Promise<string | undefined> => {
    const fromEnv = env[`CROSSDOCK_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];
    if (fromEnv !== undefined) return fromEnv;
    let secrets: Record<string, unknown>;
    try {
      secrets = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const value = secrets[name];
    return typeof value === 'string' ? value : value === undefined ? undefined : JSON.stringify(value);
  };
}
