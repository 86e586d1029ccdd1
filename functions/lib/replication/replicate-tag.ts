import { randomUUID } from 'node:crypto';
import type { Descriptor } from '#registry/manifests.ts';
import { checkManifest } from './check-manifest.ts';
import { type CopyBlobInput, copyBlob } from './copy-blob.ts';
import { fetchManifest } from './fetch-manifest.ts';
import { mapLimit } from './limit.ts';
import { pushManifest } from './push-manifest.ts';
import { replicateReferrers } from './referrers.ts';
import { copySharedBlob } from './shared-blob.ts';
import {
  addStats,
  type BlobOutcome,
  emptyStats,
  type ManifestCache,
  type ReplicateInput,
  type ReplicateResult,
  type ReplicationOptions,
} from './types.ts';

export const DEFAULT_BLOBS_PER_IMAGE = 4;

/**
 * A one-shot copy has no deadline, so a big blob goes in PATCHes of up to 1 GiB rather than the
 * workflow's 128 MiB: each chunk costs a PATCH round trip with the stream stopped in between (its
 * ranged GET at the source now goes out during that round trip). A 300 MiB layer (`npm run bench`,
 * alternated in one spell, before that read-ahead) took 0.79–0.93 × `skopeo copy`'s time in one
 * PATCH against 0.99–1.04 × in five. Resuming is no
 * worse: distribution drops an upload whose PATCH was cut mid-body whatever its size
 * (docs/architecture.md, "How a blob is copied"); a registry that keeps it resumes at its offset.
 */
export const ONE_SHOT_CHUNK_SIZE = 1024 * 1024 * 1024;

/**
 * replicateTag: the steps of one job composed for one-shot use — FetchManifest,
 * CheckManifest (present → skipped), CheckBlob/CopyBlob for every blob (several at once),
 * PushManifest, then the referrers (signatures, SBOMs) of what was copied.
 */
export async function replicateTag(
  input: ReplicateInput,
  options: ReplicationOptions = {},
): Promise<ReplicateResult> {
  return replicate(input, options, 0);
}

/** Referrers of referrers are followed this deep (a signature of an SBOM, say). */
const MAX_REFERRER_DEPTH = 2;

async function replicate(
  input: ReplicateInput,
  options: ReplicationOptions,
  depth: number,
): Promise<ReplicateResult> {
  const { source, destination, signal } = { ...input, signal: options.signal };
  const cache: ManifestCache = new Map();
  const stats = emptyStats();
  const fetchOptions = signal ? { cache, signal } : { cache };
  const plan = await fetchManifest(source.client, source.repository, input.reference, fetchOptions);
  const tag = input.tag ?? (input.reference.includes(':') ? undefined : input.reference);
  const destinationReference = tag ?? plan.root.digest;

  const check = await checkManifest(
    destination.client,
    destination.repository,
    destinationReference,
    plan.root.digest,
    {
      ...(options.override === undefined ? {} : { override: options.override }),
      ...(signal ? { signal } : {}),
    },
  );

  const blobsMissing: ReplicateResult['blobsMissing'] = [];
  if (!check.present) {
    const outcomes = await mapLimit(
      plan.blobs,
      options.blobsPerImage ?? DEFAULT_BLOBS_PER_IMAGE,
      async (blob) => {
        const outcome = await replicateBlob(input, blob, options);
        if (outcome === 'copy' || outcome === 'mount')
          blobsMissing.push({ blob, mountable: outcome === 'mount' });
        return { blob, outcome };
      },
    );
    for (const { blob, outcome } of outcomes) {
      if (outcome === 'copied') {
        stats.blobsCopied++;
        stats.bytesCopied += blob.size;
      } else if (outcome === 'mounted') stats.blobsMounted++;
      else if (outcome === 'present') stats.blobsPresent++;
    }
    if (!options.dryRun) {
      const pushed = await pushManifest(source, destination, plan, { tag, cache, signal });
      stats.manifestsPushed += pushed.pushed.length;
      options.onEvent?.({
        type: 'manifest-pushed',
        digest: plan.root.digest,
        reference: destinationReference,
      });
    }
  }

  if (options.referrers !== false && depth < MAX_REFERRER_DEPTH) {
    const referred = await replicateReferrers(input, plan.root.digest, options, (referrer) =>
      replicate(referrer, options, depth + 1),
    );
    stats.referrersCopied += referred.copied;
    for (const result of referred.results) {
      addStats(stats, result.stats);
      blobsMissing.push(...result.blobsMissing);
    }
  }

  return {
    outcome: check.present ? 'skipped' : 'copied',
    digest: plan.root.digest,
    mediaType: plan.root.mediaType,
    stats,
    blobsMissing,
    registry: destination.client.host,
  };
}

/**
 * One blob: present, mounted from a sibling repository, or streamed. Dry runs only look, and
 * answer what a real run would do with a blob the destination lacks: `mount` it (from the source
 * repository in the same registry, or where the blob index says the registry holds it), or `copy` it.
 */
async function replicateBlob(
  input: ReplicateInput,
  blob: Descriptor,
  options: ReplicationOptions,
): Promise<BlobOutcome | 'copy' | 'mount'> {
  const { source, destination } = input;
  const host = destination.client.host;
  // Copying within one registry: the source repository itself is the obvious mount.
  const sameRegistry = source.client.host === host && source.repository !== destination.repository;
  options.onEvent?.({ type: 'blob-start', digest: blob.digest, size: blob.size });
  let outcome: BlobOutcome | 'copy' | 'mount';
  if (options.dryRun) {
    const size = await destination.client.blobs.head(destination.repository, blob.digest, options.signal);
    if (size !== undefined) outcome = 'present';
    else {
      const holders = (await options.sharedBlobs?.index.holders(host, blob.digest)) ?? [];
      outcome =
        sameRegistry || holders.some((repository) => repository !== destination.repository)
          ? 'mount'
          : 'copy';
    }
  } else {
    const copy: CopyBlobInput = {
      source,
      destination,
      blob,
      mountFrom: sameRegistry ? [source.repository] : [],
      signal: options.signal,
      chunkSize: options.chunkSize ?? ONE_SHOT_CHUNK_SIZE,
      ...(options.monolithicLimit ? { monolithicLimit: options.monolithicLimit } : {}),
      onProgress: (bytes) => options.onEvent?.({ type: 'blob-progress', digest: blob.digest, bytes }),
      onStall: ({ message, givingUp }) =>
        options.onEvent?.({ type: 'blob-stalled', digest: blob.digest, message, givingUp }),
    };
    // Each call its own holder: two tags of one run needing the blob take turns like two jobs.
    const result = options.sharedBlobs
      ? await copySharedBlob({ ...copy, shared: options.sharedBlobs, holder: randomUUID() })
      : await copyBlob(copy);
    if (result.outcome === 'partial' || result.outcome === 'waiting')
      throw new Error(`copyBlob ended ${result.outcome} without a byte budget or a wait limit`);
    outcome = result.outcome;
  }
  if (outcome !== 'copy' && outcome !== 'mount')
    options.onEvent?.({ type: 'blob-done', digest: blob.digest, size: blob.size, outcome });
  return outcome;
}
