import type { RegistryClient } from '#registry/client.ts';

export type DeleteTagResult =
  | { deleted: true }
  | { deleted: false; reason: 'tag-missing' | 'tag-moved'; destinationDigest?: string };

/**
 * DeleteTag: replicates a delete only while the destination tag still points at the digest
 * that was deleted at the source — a tag that moved on since (a newer push) is left alone.
 * Distribution deletes manifests by digest, which removes every tag on that digest.
 */
export async function deleteTag(
  destination: RegistryClient,
  repository: string,
  tag: string,
  deletedDigest: string,
  signal?: AbortSignal,
): Promise<DeleteTagResult> {
  const current = await destination.manifests.head(repository, tag, signal);
  if (!current) return { deleted: false, reason: 'tag-missing' };
  if (current.digest !== deletedDigest) {
    return { deleted: false, reason: 'tag-moved', destinationDigest: current.digest };
  }
  await destination.manifests.delete(repository, deletedDigest, signal);
  return { deleted: true };
}
