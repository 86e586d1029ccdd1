import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SharedBlobs } from '#replication/blob-index.ts';
import { copySharedBlob } from '#replication/shared-blob.ts';
import { BlobClaimStore } from '../../functions/lib/stores/blob-claims.ts';
import { BlobIndexStore } from '../../functions/lib/stores/blob-index.ts';
import { blobKey } from '../../functions/lib/stores/blob-keys.ts';
import { type Blob, pushImage, randomLayer } from '../support/image-builder.ts';
import { registryPairForSuite } from '../support/registry-pair.ts';
import { blobExists } from '../support/registry-reader.ts';
import { countingClient, type LocalTable, startLocalTable } from '../unit/stores/local-table.ts';

/**
 * copySharedBlob with the pipeline's table (docs/architecture.md, "Mounts"): the blob's index
 * entry and its copy claim are one item, so a copy costs the index read and two writes; and
 * when the entry changes while the blob is copied, the copy still names its repository and
 * gives its claim up. Real registries, a real dynalite table.
 */

const MiB = 1024 * 1024;

describe('a shared blob copied with the claims in the table', () => {
  const registries = registryPairForSuite();
  let table: LocalTable;
  let layer: Blob;

  beforeAll(async () => {
    table = await startLocalTable();
    layer = await randomLayer(2 * MiB);
    await pushImage(`${registries.source.host}/team-a/app:v1`, { layers: [layer] });
  });
  afterAll(() => table?.close());

  const source = () => ({ client: registries.sourceClient, repository: 'team-a/app' });
  const shared = (client = table.client): SharedBlobs => ({
    index: new BlobIndexStore(client, table.tableName),
    claims: new BlobClaimStore(client, table.tableName),
  });
  /** Forgets every repository the index names for the layer: each test starts from none. */
  const forgetAll = async () => {
    const index = new BlobIndexStore(table.client, table.tableName);
    const registry = registries.destinationClient.host;
    for (const repository of await index.holders(registry, layer.digest))
      await index.forget(registry, layer.digest, repository);
  };
  const claimOf = async (registry: string) => {
    const { Item } = await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: blobKey(registry, layer.digest) }),
    );
    return Item?.claimHolder;
  };

  it('copies a blob no repository holds for one index read and two writes, and names its repository', async () => {
    const counted = countingClient(table.client);
    const destination = { client: registries.destinationClient, repository: 'one/app' };

    const result = await copySharedBlob({
      source: source(),
      destination,
      blob: layer,
      shared: shared(counted.client),
      holder: 'job-1#1',
      skipCheck: true,
    });

    expect(result).toEqual({ outcome: 'copied', bytesSent: layer.size });
    expect(await blobExists(registries.destination, 'one/app', layer.digest)).toBe(true);
    expect({ reads: counted.sent('GetCommand'), writes: counted.sent('UpdateCommand') }).toEqual({
      reads: 1,
      writes: 2,
    });
    const registry = registries.destinationClient.host;
    expect(await shared().index.holders(registry, layer.digest)).toEqual(['one/app']);
    expect(await claimOf(registry)).toBeUndefined();
  });

  it('copies a blob the index says this repository holds when the registry says it does not', async () => {
    // A stale entry: the repository was deleted and made again, or its blob collected.
    const registry = registries.destinationClient.host;
    const index = new BlobIndexStore(table.client, table.tableName);
    await forgetAll();
    await index.remember(registry, layer.digest, 'stale/app');

    const result = await copySharedBlob({
      source: source(),
      destination: { client: registries.destinationClient, repository: 'stale/app' },
      blob: layer,
      shared: shared(),
      holder: 'job-3#1',
      skipCheck: true,
      waitMs: 2_000,
    });

    expect(result).toEqual({ outcome: 'copied', bytesSent: layer.size });
    expect(await blobExists(registries.destination, 'stale/app', layer.digest)).toBe(true);
    expect(await index.holders(registry, layer.digest)).toEqual(['stale/app']);
  });

  it('names its repository beside one named while it copied, and gives its claim up', async () => {
    const registry = registries.destinationClient.host;
    const index = new BlobIndexStore(table.client, table.tableName);
    await forgetAll(); // the tests before copied it: nobody holds it now
    const claims = new BlobClaimStore(table.client, table.tableName);
    const racing: SharedBlobs = {
      index,
      claims: {
        claim: async (...args) => {
          const taken = await claims.claim(...args);
          // Another job finds the blob in its own repository meanwhile, and says so.
          if (taken)
            await new BlobIndexStore(table.client, table.tableName).remember(registry, layer.digest, 'x/y');
          return taken;
        },
        release: (...args) => claims.release(...args),
        releaseHolding: (...args) => claims.releaseHolding(...args),
      },
    };

    const result = await copySharedBlob({
      source: source(),
      destination: { client: registries.destinationClient, repository: 'two/app' },
      blob: layer,
      shared: racing,
      holder: 'job-2#1',
      skipCheck: true,
    });

    expect(result).toEqual({ outcome: 'copied', bytesSent: layer.size });
    expect(await index.holders(registry, layer.digest)).toEqual(['two/app', 'x/y']);
    expect(await claimOf(registry)).toBeUndefined();
  });
});
