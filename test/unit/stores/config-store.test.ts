import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { ConfigStore } from '../../../functions/lib/stores/config-store.ts';
import { RecordNotFoundError } from '../../../functions/lib/stores/errors.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
let config: ConfigStore;

// The same rules whether every read goes to the table (deployed) or to the copy a sole writer
// keeps (the local runtime).
describe.each([
  { mode: 'reading the table', soleWriter: false },
  { mode: 'as the sole writer, reading its copy', soleWriter: true },
])('ConfigStore, $mode', ({ soleWriter }) => {
  beforeAll(async () => {
    local = await startLocalTable();
    config = new ConfigStore(local.client, local.tableName, { soleWriter });
  });
  afterAll(() => local.close());

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

describe('ConfigStore as the sole writer', () => {
  beforeAll(async () => {
    local = await startLocalTable();
    config = new ConfigStore(local.client, local.tableName, { soleWriter: true });
  });
  afterAll(() => local.close());

  it('answers from the copy it read once: a change written behind its back is not seen', async () => {
    await config.putRegistry({ name: 'hub-a', url: 'http://127.0.0.1:5001' });
    expect((await config.listRegistries()).map((r) => r.name)).toEqual(['hub-a']);

    const other = new ConfigStore(local.client, local.tableName);
    await other.putRegistry({ name: 'behind', url: 'http://127.0.0.1:5002' });

    expect(await config.getRegistry('behind')).toBeUndefined();
    expect(await other.getRegistry('behind')).toMatchObject({ name: 'behind' });
  });

  it('sees its own writes, in name order, and keeps its copy from what callers do to the answers', async () => {
    await config.putRegistry({ name: 'zz-last', url: 'http://127.0.0.1:5003' });
    await config.putRegistry({ name: 'aa-first', url: 'http://127.0.0.1:5004' });
    expect((await config.listRegistries()).map((r) => r.name)).toEqual(['aa-first', 'hub-a', 'zz-last']);

    const answer = await config.getRegistry('aa-first');
    if (answer) answer.url = 'http://elsewhere';
    expect((await config.getRegistry('aa-first'))?.url).toBe('http://127.0.0.1:5004');

    await config.deleteRegistry('zz-last');
    expect(await config.getRegistry('zz-last')).toBeUndefined();
  });
});
