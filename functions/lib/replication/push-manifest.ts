import type { Manifest } from '#registry/manifests.ts';
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
    const result = await destination.client.manifests.put(
      destination.repository,
      reference,
      manifest,
      options.signal,
    );
    subjectIndexed ||= result.subjectIndexed;
    pushed.push(node.digest);
  }
  return { pushed, subjectIndexed };
}
