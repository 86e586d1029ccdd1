import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VaultFileError } from '../../../infra/local/errors.ts';
import { localSecrets, localVault, VAULT_FILE } from '../../../infra/local/secrets.ts';
import { tempDir } from './temp-dir.ts';

describe('the local vault (secrets.json in the state folder)', () => {
  it('keeps secrets in a 0600 file whatever the umask, and a removed one is gone from it', async () => {
    const dir = await tempDir();
    const vault = localVault(dir);
    const umask = process.umask(0o022);
    try {
      await vault.write('crossdock/registry/a', 'pass-a');
      await vault.write('crossdock/source/a', 'hook-a');
      await vault.remove('crossdock/registry/a');
    } finally {
      process.umask(umask);
    }

    const file = join(dir, VAULT_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).not.toContain('pass-a');
    expect(await vault.read('crossdock/registry/a')).toBeUndefined();
    expect(await vault.read('crossdock/source/a')).toBe('hook-a');
  });

  it('keeps every one of many writes made at once', async () => {
    const vault = localVault(await tempDir());

    await Promise.all(Array.from({ length: 20 }, (_, i) => vault.write(`s${i}`, `v${i}`)));

    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => vault.read(`s${i}`)));
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
  });

  it('refuses a malformed file, and leaves it as it was', async () => {
    const dir = await tempDir();
    const file = join(dir, VAULT_FILE);
    await writeFile(file, '{"crossdock/registry/a": "pass-a", oops');
    const vault = localVault(dir);

    await expect(vault.write('crossdock/registry/b', 'pass-b')).rejects.toBeInstanceOf(VaultFileError);
    await expect(vault.read('crossdock/registry/a')).rejects.toBeInstanceOf(VaultFileError);
    expect(await readFile(file, 'utf8')).toBe('{"crossdock/registry/a": "pass-a", oops');
  });

  it('answers a secret from CROSSDOCK_SECRET_<NAME> before the vault', async () => {
    const vault = localVault(await tempDir());
    await vault.write('robot', 'from-vault');
    await vault.write('other', 'vault-only');
    const secret = localSecrets({ vault, env: { CROSSDOCK_SECRET_ROBOT: 'from-env' } });

    expect(await secret('robot')).toBe('from-env');
    expect(await secret('other')).toBe('vault-only');
  });
});
