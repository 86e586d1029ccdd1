import type { RegistryClient } from '#registry/client.ts';
import { RegistryNotFoundError } from '#registry/errors.ts';
import { type Descriptor, type Manifest, manifestBlobs } from '#registry/manifests.ts';
import { isIndexMediaType } from '#registry/media-types.ts';
import { tryAgainWhile } from '#registry/retry.ts';
import { mapLimit } from './limit.ts';
import type { ManifestCache, ManifestNode, ManifestPlan } from './types.ts';

const CHILD_FETCH_CONCURRENCY = 8;
const MAX_INDEX_DEPTH = 4;

/**
 * FetchManifest: resolves a tag (or digest) at the source as it is now, reads the children of
 * an index, and lists every blob of the tree once. Every manifest read is digest-verified.
 */
export async function fetchManifest(
  source: RegistryClient,
  repository: string,
  reference: string,
  options: { cache?: ManifestCache; signal?: AbortSignal } = {},
): Promise<ManifestPlan> {
  const blobs = new Map<string, Descriptor>();
  const read = async (ref: string, depth: number, descriptor?: Descriptor): Promise<ManifestNode> => {
    const manifest: Manifest =
      options.cache?.get(ref) ?? (await source.manifests.get(repository, ref, options.signal));
    options.cache?.set(manifest.digest, manifest);
    const node: ManifestNode = {
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      size: manifest.size,
    };
    if (descriptor?.platform) node.platform = descriptor.platform;
    if (isIndexMediaType(manifest.mediaType)) {
      if (depth >= MAX_INDEX_DEPTH)
        throw new Error(`${repository}@${manifest.digest}: indexes nested too deep`);
      const children = manifest.document.manifests ?? [];
      node.children = await mapLimit(children, CHILD_FETCH_CONCURRENCY, (child) =>
        read(child.digest, depth + 1, child),
      );
    } else {
      node.blobs = manifestBlobs(manifest.document).map(({ mediaType, digest, size }) => ({
        mediaType,
        digest,
        size,
      }));
      for (const blob of node.blobs) blobs.set(blob.digest, blob);
    }
    return node;
  };
  const root = await read(reference, 0);
  return { sourceRepository: repository, reference, root, blobs: [...blobs.values()] };
}

/**
 * Waits before each try again: about 1.5 s in all. distribution (2.8) sends a manifest push's
 * event, tag included, once the manifest is stored, and links the tag only after: a consumer as
 * quick as the pipeline can read the tag before it exists (MANIFEST_UNKNOWN). Seen once in
 * ~20 runs of six tags of one image pushed at once, a job ending FAILED on it.
 */
const ANNOUNCED_TAG_RETRIES_MS = [100, 200, 400, 800];

/**
 * fetchManifest of a tag a registry's event announced: read again for a while when the source
 * does not know the tag yet (ANNOUNCED_TAG_RETRIES_MS); still unknown after that, it fails.
 */
export async function fetchAnnouncedManifest(
  source: RegistryClient,
  repository: string,
  tag: string,
  options: { cache?: ManifestCache; signal?: AbortSignal } = {},
): Promise<ManifestPlan> {
  return tryAgainWhile(
    () => fetchManifest(source, repository, tag, options),
    (error) => error instanceof RegistryNotFoundError,
    ANNOUNCED_TAG_RETRIES_MS,
    options.signal,
  );
}

/** The tree's manifests, children before their index: the order they must be pushed in. */
export function manifestsInPushOrder(root: ManifestNode): ManifestNode[] {
  const order: ManifestNode[] = [];
  const seen = new Set<string>();
  const visit = (node: ManifestNode): void => {
    for (const child of node.children ?? []) visit(child);
    if (!seen.has(node.digest)) {
      seen.add(node.digest);
      order.push(node);
    }
  };
  visit(root);
  return order;
}
