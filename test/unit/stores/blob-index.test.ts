import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOB_INDEX_TTL_DAYS } from '../../../functions/lib/config/defaults.ts';
import { BlobClaimStore } from '../../../functions/lib/stores/blob-claims.ts';
import { BlobIndexStore } from '../../../functions/lib/stores/blob-index.ts';
import { blobKey } from '../../../functions/lib/stores/blob-keys.ts';
import { sweepExpired } from '../../../functions/lib/stores/sweeper.ts';
import { countingClient, type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
let now = Date.parse('2025-01-01T00:00:00Z');
let index: BlobIndexStore;
let claims: BlobClaimStore;
let n = 0;
/** A digest no earlier test used. */
const digest = () => `sha256:${(++n).toString(16).padStart(64, '0')}`;

beforeAll(async () => {
  local = await startLocalTable();
  index = new BlobIndexStore(local.client, local.tableName, { now: () => now });
  claims = new BlobClaimStore(local.client, local.tableName, { now: () => now, ttlSeconds: 60 });
});
afterAll(() => local.close());

// The same rules whether every read goes to the table (deployed) or a sole writer answers from
// the items it read or wrote (the local runtime).
describe.each([
  { mode: 'reading the table', soleWriter: false },
  { mode: 'as the sole writer', soleWriter: true },
])('BlobIndexStore, $mode', ({ soleWriter }) => {
  beforeAll(() => {
    index = new BlobIndexStore(local.client, local.tableName, { now: () => now, soleWriter });
  });

  it('answers the repositories holding a blob, newest first, at most three, per registry', async () => {
    const blob = digest();
    for (const repository of ['team/a', 'team/b', 'team/c', 'team/d'])
      await index.remember('dc-b:5000', blob, repository);
    await index.remember('dc-b:5000', blob, 'team/c');

    expect(await index.holders('dc-b:5000', blob)).toEqual(['team/c', 'team/d', 'team/b']);
    expect(await index.holders('dc-c:5000', blob)).toEqual([]);
  });

  it('forgets a repository whose mount was refused, and the blob once none is left', async () => {
    const blob = digest();
    await index.remember('dc-b:5000', blob, 'team/a');
    await index.remember('dc-b:5000', blob, 'team/b');

    await index.forget('dc-b:5000', blob, 'team/b');
    expect(await index.holders('dc-b:5000', blob)).toEqual(['team/a']);
    await index.forget('dc-b:5000', blob, 'team/a');
    expect(await index.holders('dc-b:5000', blob)).toEqual([]);
  });

  it('keeps every repository of concurrent writers for one blob (conditional writes, retried)', async () => {
    const blob = digest();
    await Promise.all(['team/a', 'team/b', 'team/c'].map((r) => index.remember('dc-b:5000', blob, r)));

    expect((await index.holders('dc-b:5000', blob)).sort()).toEqual(['team/a', 'team/b', 'team/c']);
  });

  it('remembers a blob whose holders it has just read without reading them again', async () => {
    const blob = digest();
    await index.remember('dc-b:5000', blob, 'team/a');
    const counted = countingClient(local.client);
    const store = new BlobIndexStore(counted.client, local.tableName, {
      now: () => now,
      soleWriter,
    });

    expect(await store.holders('dc-b:5000', blob)).toEqual(['team/a']); // a copy looks before it copies
    await store.remember('dc-b:5000', blob, 'team/b'); // and remembers where it copied to

    expect(counted.sent('GetCommand')).toBe(1);
    const table = new BlobIndexStore(local.client, local.tableName, { now: () => now });
    expect(await table.holders('dc-b:5000', blob)).toEqual(['team/b', 'team/a']);
  });

  it('writes the entry right when what it read was changed meanwhile (the write’s condition fails, it reads again)', async () => {
    const blob = digest();
    const other = new BlobIndexStore(local.client, local.tableName, { now: () => now });
    expect(await index.holders('dc-b:5000', blob)).toEqual([]);

    await other.remember('dc-b:5000', blob, 'team/x'); // another job, after our read
    await index.remember('dc-b:5000', blob, 'team/y');

    expect(await index.holders('dc-b:5000', blob)).toEqual(['team/y', 'team/x']);
  });

  it('lets an entry nobody confirmed for its time to live expire (DynamoDB TTL on expiresAt)', async () => {
    const blob = digest();
    await index.remember('dc-b:5000', blob, 'team/a');

    now += (BLOB_INDEX_TTL_DAYS + 1) * 86_400_000;
    expect(await index.holders('dc-b:5000', blob)).toEqual([]);
    expect(await sweepExpired(local.client, local.tableName, new Date(now))).toBeGreaterThan(0);
  });
});

describe('BlobIndexStore as the sole writer', () => {
  const countingGets = () => {
    const { client, sent } = countingClient(local.client);
    return {
      reads: () => sent('GetCommand'),
      store: new BlobIndexStore(client, local.tableName, { now: () => now, soleWriter: true }),
    };
  };

  it('reads a blob’s entry from the table once, then answers from what it read and wrote', async () => {
    const blob = digest();
    const { reads, store } = countingGets();

    expect(await store.holders('dc-b:5000', blob)).toEqual([]);
    await store.remember('dc-b:5000', blob, 'team/a');
    await store.remember('dc-b:5000', blob, 'team/b');
    await store.forget('dc-b:5000', blob, 'team/a');
    expect(await store.holders('dc-b:5000', blob)).toEqual(['team/b']);

    expect(reads()).toBe(1);
    expect(await index.holders('dc-b:5000', blob)).toEqual(['team/b']); // the table has it all
  });

  it('writes again when the sweeper deleted an expired entry it still kept', async () => {
    const blob = digest();
    const { store } = countingGets();
    await store.remember('dc-b:5000', blob, 'team/a');
    now += (BLOB_INDEX_TTL_DAYS + 1) * 86_400_000;
    await sweepExpired(local.client, local.tableName, new Date(now));

    await store.remember('dc-b:5000', blob, 'team/b');

    expect(await store.holders('dc-b:5000', blob)).toEqual(['team/b']);
    expect(
      await new BlobIndexStore(local.client, local.tableName, { now: () => now }).holders('dc-b:5000', blob),
    ).toEqual(['team/b']);
  });
});

describe('BlobClaimStore', () => {
  // The index as the deployed handlers keep it (every read goes to the table): the claim is
  // part of the same item.
  let table: BlobIndexStore;
  beforeAll(() => {
    table = new BlobIndexStore(local.client, local.tableName, { now: () => now });
  });

  it('gives a blob to one holder of many racing, and the holder renews its own', async () => {
    const blob = digest();
    const won = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claims.claim('dc-b:5000', blob, `job-${i}#1`)),
    );

    expect(won.filter(Boolean)).toHaveLength(1);
    const holder = `job-${won.indexOf(true)}#1`;
    expect(await claims.claim('dc-b:5000', blob, holder)).toBe(true);
  });

  it('frees the claim when its holder releases it; another holder cannot release it', async () => {
    const blob = digest();
    await claims.claim('dc-b:5000', blob, 'job-1#1');

    await claims.release('dc-b:5000', blob, 'job-2#1');
    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(false);
    await claims.release('dc-b:5000', blob, 'job-1#1');
    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(true);
  });

  it('refuses the claim while the index names a repository holding the blob, until that entry expires', async () => {
    const blob = digest();
    await table.remember('dc-b:5000', blob, 'team/a');

    expect(await claims.claim('dc-b:5000', blob, 'job-1#1')).toBe(false);
    now += (BLOB_INDEX_TTL_DAYS + 1) * 86_400_000;
    expect(await claims.claim('dc-b:5000', blob, 'job-1#1')).toBe(true);
    expect(await table.holders('dc-b:5000', blob)).toEqual([]);
  });

  it('gives the claim up while naming the repository the copy landed in, in one write', async () => {
    const blob = digest();
    const counted = countingClient(local.client);
    const store = new BlobClaimStore(counted.client, local.tableName, { now: () => now, ttlSeconds: 60 });
    await store.claim('dc-b:5000', blob, 'job-1#1');

    expect(await store.releaseHolding('dc-b:5000', blob, 'job-1#1', 'team/a')).toBe(true);

    expect(counted.sent('UpdateCommand')).toBe(2);
    expect(await table.holders('dc-b:5000', blob)).toEqual(['team/a']);
    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(false); // held: mount it, not copy
    await table.forget('dc-b:5000', blob, 'team/a');
    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(true); // the claim was given up
  });

  it('leaves the naming to the index when a repository was named after the claim was taken', async () => {
    const blob = digest();
    await claims.claim('dc-b:5000', blob, 'job-1#1');
    await table.remember('dc-b:5000', blob, 'team/x'); // found there by another job meanwhile

    expect(await claims.releaseHolding('dc-b:5000', blob, 'job-1#1', 'team/a')).toBe(false);
    expect(await table.holders('dc-b:5000', blob)).toEqual(['team/x']);
    expect(await claims.releaseHolding('dc-b:5000', blob, 'job-2#1', 'team/b')).toBe(false); // not its claim
  });

  it('keeps a claim through the index’s writes of the same item, and the entry through the claim’s', async () => {
    const blob = digest();
    await claims.claim('dc-b:5000', blob, 'job-1#1');
    await table.remember('dc-b:5000', blob, 'team/a');
    await table.forget('dc-b:5000', blob, 'team/a');

    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(false); // job-1's still
    await claims.release('dc-b:5000', blob, 'job-1#1');
    await table.remember('dc-b:5000', blob, 'team/b');
    await claims.release('dc-b:5000', blob, 'job-1#1'); // nothing to give up: the entry stays
    expect(await table.holders('dc-b:5000', blob)).toEqual(['team/b']);
  });

  it('renews its own claim after a repository was named meanwhile, which refuses any new one', async () => {
    const blob = digest();
    await claims.claim('dc-b:5000', blob, 'job-1#1');
    await table.remember('dc-b:5000', blob, 'team/x'); // found there by another job mid-copy

    now += 50_000;
    expect(await claims.renew('dc-b:5000', blob, 'job-1#1')).toBe(true);
    expect(await claims.claim('dc-b:5000', blob, 'job-1#1')).toBe(false); // held by team/x now
    expect(await claims.renew('dc-b:5000', blob, 'job-2#1')).toBe(false); // not its claim
    await claims.release('dc-b:5000', blob, 'job-1#1');
    expect(await claims.renew('dc-b:5000', blob, 'job-1#1')).toBe(false); // given up: a late renewal is refused
  });

  it('keeps the item as the code before the claim moved into it reads it: a list and a version', async () => {
    const blob = digest();
    const item = async () =>
      (
        await local.client.send(
          new GetCommand({ TableName: local.tableName, Key: blobKey('dc-b:5000', blob) }),
        )
      ).Item;
    await claims.claim('dc-b:5000', blob, 'job-1#1');
    expect(await item()).toMatchObject({ repositories: [], version: 0 });

    await claims.releaseHolding('dc-b:5000', blob, 'job-1#1', 'team/a');
    await table.forget('dc-b:5000', blob, 'team/a');

    expect(await item()).toMatchObject({ repositories: [], version: 2 });
    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(true); // an empty list holds nothing
  });

  it('lets another holder take a claim its holder never released once it expired', async () => {
    const blob = digest();
    await claims.claim('dc-b:5000', blob, 'dead-job#1');

    now += 59_000;
    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(false);
    now += 2_000;
    expect(await claims.claim('dc-b:5000', blob, 'job-2#1')).toBe(true);
  });
});
