import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretVault } from '../../functions/lib/app/vaulted-config.ts';
import { VaultFileError } from './errors.ts';

/**
 * The local runtime's Secrets Manager: one JSON file in the state folder, `secrets.json`
 * (`{"name": "value"}`), mode 0600 in the 0700 state folder. The records keep only references
 * to it (`vault:crossdock/registry/<name>`, as the deployed VaultedConfigStore writes), so a
 * copy of the records, their LevelDB files or a Scan of them holds no password.
 *
 * Not encrypted: a key would have to sit next to it, readable by the same user, and would
 * protect nothing more than the file's mode does (docs/security.md says what this keeps out).
 * Each write replaces the file whole (a new file renamed over it), so a removed secret does
 * not linger in it; writes run one at a time, and the folder is locked to one crossdock.
 */

export const VAULT_FILE = 'secrets.json';

export interface LocalVault extends SecretVault {
  /** The file it keeps the secrets in. */
  readonly file: string;
}

export function localVault(stateDir: string): LocalVault {
  const file = join(stateDir, VAULT_FILE);
  let writes: Promise<unknown> = Promise.resolve();

  const readAll = async (): Promise<Record<string, unknown>> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    // Never read as empty: the next write would drop every secret it holds.
    throw new VaultFileError(`${file} is not a JSON object of secrets; fix or remove it`);
  };

  const change = (edit: (secrets: Record<string, unknown>) => boolean) => {
    const next = writes.then(async () => {
      const secrets = await readAll();
      if (!edit(secrets)) return;
      const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
        await chmod(temporary, 0o600); // whatever the umask
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    });
    writes = next.catch(() => undefined);
    return next;
  };

  return {
    file,
    async read(name) {
      await writes; // a read after a write sees it
      const value = (await readAll())[name];
      return typeof value === 'string' ? value : value === undefined ? undefined : JSON.stringify(value);
    },
    write: (name, value) =>
      change((secrets) => {
        if (secrets[name] === value) return false;
        secrets[name] = value;
        return true;
      }),
    remove: (name) =>
      change((secrets) => {
        if (!(name in secrets)) return false;
        delete secrets[name];
        return true;
      }),
  };
}

/**
 * Secrets by name for the local runtime, behind the same accessor the deployed functions use
 * for Secrets Manager (a registry's `credentialsSecret`): `CROSSDOCK_SECRET_<NAME>` from the
 * environment (the name upper-cased, every other character `_`), else the vault.
 */
export function localSecrets(options: { vault: SecretVault; env?: NodeJS.ProcessEnv }) {
  const env = options.env ?? process.env;
  return async (name: string): Promise<string | undefined> => {
    const fromEnv = env[`CROSSDOCK_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];
    if (fromEnv !== undefined) return fromEnv;
    return options.vault.read(name);
  };
}
