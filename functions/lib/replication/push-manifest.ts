import { RegistryError } from '#registry/errors.ts';
import type { Manifest } from '#registry/manifests.ts';
import { tryAgainWhile } from '#registry/retry.ts';
import { manifestsInPushOrder } from './fetch-manifest.ts';
import type { ManifestCache, ManifestPlan, RepositoryRef } from './types.ts';

export interface PushManifestResult {
  /** Digests pushed, children first. */
  pushed: string[];
  /** The destination indexes referrers itself (it answered OCI-Subject), as far as we saw. */
  subjectIndexed: boolean;
}

/**
 * PushManifest: children of an index first (by digest), then the index, then the tag last, so
 * the tag never points at something incomplete. Pushes the source's exact bytes (re-read by
 * digest when not cached) so digests are kept.
 */
export async function pushManifest(
  source: RepositoryRef,
  destination: RepositoryRef,
  plan: ManifestPlan,
  options: { tag?: string | undefined; cache?: ManifestCache; signal?: AbortSignal | undefined } = {},
): Promise<PushManifestResult> {
  const order = manifestsInPushOrder(plan.root);
  const pushed: string[] = [];
  let subjectIndexed = false;
  for (const node of order) {
    const manifest: Manifest =
      options.cache?.get(node.digest) ??
      (await source.client.manifests.get(source.repository, node.digest, options.signal));
    const isRoot = node.digest === plan.root.digest;
    const reference = isRoot && options.tag !== undefined ? options.tag : node.digest;
    // A blob still unknown after the pauses fails the push.
    const result = await tryAgainWhile(
      () => destination.client.manifests.put(destination.repository, reference, manifest, options.signal),
      namesUnknownBlob,
      BLOB_UNKNOWN_RETRIES_MS,
      options.signal,
    );
    subjectIndexed ||= result.subjectIndexed;
    pushed.push(node.digest);
  }
  return { pushed, subjectIndexed };
}

/**
 * Waits before each try again: about 1.5 s in all. distribution can answer MANIFEST_BLOB_UNKNOWN
 * for a blob it holds while another upload of that same blob into the repository commits (it
 * moves the new data over the old): in the pipeline, jobs of tags sharing small blobs copy them
 * side by side without a claim (replication/shared-blob.ts, SHARED_COPY_MIN_BYTES), and one job's
 * manifest push failed so, once in ~20 runs of six tags of one image (a burst of 200 tags: 2 jobs).
 */
const BLOB_UNKNOWN_RETRIES_MS = [100, 200, 400, 800];

/** The registry says a blob the manifest names is unknown. */
const namesUnknownBlob = (error: unknown) =>
  error instanceof RegistryError && error.details.some((d) => d.code === 'MANIFEST_BLOB_UNKNOWN');
