import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecretVault, VaultedConfigStore } from '../../../functions/lib/app/vaulted-config.ts';
import { ConfigStore } from '../../../functions/lib/stores/config-store.ts';
import { type LocalTable, startLocalTable } from '../stores/local-table.ts';

/** A vault in memory: what is kept where is the point here, not Secrets Manager's API. */
function memoryVault(): SecretVault & { secrets: Map<string, string> } {
  const secrets = new Map<string, string>();
  return {
    secrets,
    read: async (name) => secrets.get(name),
    write: async (name, value) => {
      secrets.set(name, value);
    },
    remove: async (name) => {
      secrets.delete(name);
    },
  };
}

let local: LocalTable;
beforeAll(async () => {
  local = await startLocalTable();
});
afterAll(() => local.close());

async function recordsText(): Promise<string> {
  const all = await local.client.send(new ScanCommand({ TableName: local.tableName }));
  return JSON.stringify(all.Items);
}

describe('VaultedConfigStore (deployed: secrets in Secrets Manager, references in the records)', () => {
  it('keeps a registry password and a source secret in the vault, never in the records, and reads them back', async () => {
    const vault = memoryVault();
    const store = new VaultedConfigStore(new ConfigStore(local.client, local.tableName), vault);

    await store.putRegistry({
      name: 'hub-a',
      url: 'https://hub.example',
      credentials: { username: 'bot', password: 'pa55' },
    });
    await store.putSource({
      name: 'hub-a',
      registry: 'hub-a',
      format: 'harbor',
      auth: { hmacSecret: 'h-secret' },
    });

    const text = await recordsText();
    expect(text).not.toContain('pa55');
    expect(text).not.toContain('h-secret');
    expect(text).toContain('vault:crossdock/registry/hub-a');
    expect(vault.secrets).toEqual(
      new Map([
        ['crossdock/registry/hub-a', 'pa55'],
        ['crossdock/source/hub-a', 'h-secret'],
      ]),
    );
    expect((await store.getRegistry('hub-a'))?.credentials).toEqual({ username: 'bot', password: 'pa55' });
    expect((await store.listSources())[0]?.auth).toEqual({ hmacSecret: 'h-secret' });
  });

  it('removes the secret with its registry, and when the registry no longer has credentials', async () => {
    const vault = memoryVault();
    const store = new VaultedConfigStore(new ConfigStore(local.client, local.tableName), vault);
    await store.putRegistry({
      name: 'dc-b',
      url: 'https://b.example',
      credentials: { username: 'u', password: 'p' },
    });
    await store.putRegistry({
      name: 'dc-c',
      url: 'https://c.example',
      credentials: { username: 'u', password: 'p' },
    });

    await store.putRegistry({ name: 'dc-b', url: 'https://b.example' });
    await store.deleteRegistry('dc-c');

    expect([...vault.secrets.keys()].filter((name) => name.startsWith('crossdock/registry/dc-'))).toEqual([]);
    expect((await store.getRegistry('dc-b'))?.credentials).toBeUndefined();
  });

  it('refuses an invalid item before anything is written to the vault', async () => {
    const vault = memoryVault();
    const store = new VaultedConfigStore(new ConfigStore(local.client, local.tableName), vault);

    await expect(
      store.putRegistry({ name: 'Bad Name', url: 'x', credentials: { username: 'u', password: 'p' } }),
    ).rejects.toThrow();

    expect(vault.secrets.size).toBe(0);
  });

  it('moves secrets the records hold in clear into the vault, leaving references, once', async () => {
    const records = new ConfigStore(local.client, local.tableName);
    await records.putRegistry({
      name: 'old-reg',
      url: 'https://old.example',
      credentials: { username: 'u', password: 'old-pass-41' },
    });
    await records.putSource({
      name: 'old-src',
      registry: 'old-reg',
      format: 'distribution',
      auth: { header: 'Authorization', value: 'Bearer old-token-77' },
    });
    const vault = memoryVault();
    const store = new VaultedConfigStore(records, vault);

    const moved = await store.vaultPlainSecrets();

    expect(moved).toEqual(expect.arrayContaining(['registry old-reg', 'source old-src']));
    const text = await recordsText();
    expect(text).not.toContain('old-pass-41');
    expect(text).not.toContain('old-token-77');
    expect(vault.secrets.get('crossdock/registry/old-reg')).toBe('old-pass-41');
    expect((await store.getSource('old-src'))?.auth).toEqual({
      header: 'Authorization',
      value: 'Bearer old-token-77',
    });
    expect(await store.vaultPlainSecrets()).toEqual([]);
  });
});
