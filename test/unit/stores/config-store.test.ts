import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { ConfigStore } from '../../../functions/lib/stores/config-store.ts';
import { RecordNotFoundError } from '../../../functions/lib/stores/errors.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
let config: ConfigStore;

beforeAll(async () => {
  local = await startLocalTable();
  config = new ConfigStore(local.client, local.tableName);
});
afterAll(() => local.close());

describe('ConfigStore', () => {
  it('keeps registries as the schema reads them, and lists them by name', async () => {
    const stored = await config.putRegistry({ name: 'hub-a', url: 'http://127.0.0.1:5001/' });
    expect(stored).toMatchObject({ name: 'hub-a', url: 'http://127.0.0.1:5001', kind: 'distribution' });
    await config.putRegistry({
      name: 'dc-b',
      url: 'https://dc-b.example',
      credentials: { username: 'u', password: 'p' },
    });
    expect(await config.getRegistry('hub-a')).toEqual(stored);
    expect((await config.listRegistries()).map((r) => r.name)).toEqual(['dc-b', 'hub-a']);
    expect(await config.deleteRegistry('dc-b')).toBe(true);
    expect(await config.deleteRegistry('dc-b')).toBe(false);
    expect(await config.getRegistry('dc-b')).toBeUndefined();
  });

  it('refuses what the schema refuses', async () => {
    await expect(config.putRegistry({ name: 'Bad Name', url: 'http://x' })).rejects.toBeInstanceOf(ZodError);
    await expect(config.putPolicy({ name: 'p' })).rejects.toBeInstanceOf(ZodError);
    expect(await config.getRegistry('Bad Name')).toBeUndefined();
  });

  it('keeps sources and policies, and enables and disables a policy', async () => {
    await config.putSource({
      name: 'hub-a',
      registry: 'hub-a',
      format: 'distribution',
      auth: { hmacSecret: 's' },
    });
    expect(await config.getSource('hub-a')).toEqual({
      name: 'hub-a',
      registry: 'hub-a',
      format: 'distribution',
      auth: { hmacSecret: 's' },
    });
    expect(await config.listSources()).toHaveLength(1);

    const policy = await config.putPolicy({
      name: 'team-a-to-dc-b',
      source: { registry: 'hub-a', project: 'team-a' },
      destination: { registry: 'dc-b' },
    });
    expect(policy).toMatchObject({ enabled: true, filters: { tags: ['**'] } });
    expect(await config.setPolicyEnabled('team-a-to-dc-b', false)).toEqual({ ...policy, enabled: false });
    expect((await config.getPolicy('team-a-to-dc-b'))?.enabled).toBe(false);
    expect(await config.listPolicies()).toHaveLength(1);
    await expect(config.setPolicyEnabled('missing', true)).rejects.toBeInstanceOf(RecordNotFoundError);
    expect(await config.deletePolicy('team-a-to-dc-b')).toBe(true);
    expect(await config.deleteSource('hub-a')).toBe(true);
  });
});
