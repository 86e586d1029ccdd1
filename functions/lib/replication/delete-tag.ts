import { InvalidReferenceError } from '#registry/errors.ts';
import { validateTag } from '#registry/reference.ts';
import { mapLimit } from './limit.ts';
import type { RepositoryRef } from './types.ts';

/**
 * DeleteTag: replicates a tag deleted at the source, only when that cannot take anything the
 * source still has from the destination. An event alone is not trusted: it may be replayed, or
 * late, and distribution deletes manifests by digest, which removes every tag on that digest.
 * So the delete happens only when all of these hold, checked in this order:
 * 1. the destination tag still points at the digest deleted at the source (else `tag-missing`,
 *    `tag-moved`: a newer push moved it on);
 * 2. the tag is gone at the source now (else `tag-exists-at-source`: pushed again since);
 * 3. no other destination tag on that digest is still at the source (else
 *    `digest-shared-by-tags`): the destination's tags are listed and HEADed, at most
 *    `tagLimit` of them (more → `too-many-tags`), and each one on the digest is HEADed at the
 *    source.
 * A tag of the destination that the source never had counts as gone at the source (a 404 there
 * cannot tell the two apart). Errors of any request are thrown: nothing is deleted on a guess,
 * and the workflow retries.
 */

export interface DeleteTagRequest {
  source: RepositoryRef;
  destination: RepositoryRef;
  tag: string;
  /** The digest the tag pointed at when it was deleted at the source (the event's). */
  deletedDigest: string;
  signal?: AbortSignal | undefined;
  /** At most this many destination tags are looked at for sharing the digest. */
  tagLimit?: number;
}

export type DeleteRefusal =
  | { reason: 'tag-missing' }
  | { reason: 'tag-moved'; destinationDigest: string }
  | { reason: 'tag-exists-at-source'; sourceDigest: string }
  | { reason: 'digest-shared-by-tags'; tags: string[] }
  | { reason: 'too-many-tags'; limit: number };

export type DeleteTagResult = { deleted: true } | ({ deleted: false } & DeleteRefusal);

export const DEFAULT_TAG_LIMIT = 500;
/** HEAD requests in flight at once while looking for tags that share the digest. */
const HEADS_AT_ONCE = 8;

/** Why a delete was not replicated, in one line for the job's history. */
export function describeRefusal(refusal: DeleteRefusal): string {
  switch (refusal.reason) {
    case 'tag-missing':
      return 'tag-missing: the destination has no such tag';
    case 'tag-moved':
      return `tag-moved: the destination tag points at ${refusal.destinationDigest} now`;
    case 'tag-exists-at-source':
      return `tag-exists-at-source: the source has the tag again (${refusal.sourceDigest})`;
    case 'digest-shared-by-tags':
      return `digest-shared-by-tags: ${refusal.tags.join(', ')} (still at the source; deleting the digest would remove them too)`;
    case 'too-many-tags':
      return `too-many-tags: the destination repository has more than ${refusal.limit} tags, too many to check which share the digest`;
  }
}

/** Whether the delete may happen now; undefined when it may, else why not. */
export async function checkDelete(request: DeleteTagRequest): Promise<DeleteRefusal | undefined> {
  const { source, destination, tag, deletedDigest, signal } = request;
  const current = await destination.client.manifests.head(destination.repository, tag, signal);
  if (!current) return { reason: 'tag-missing' };
  if (current.digest !== deletedDigest) return { reason: 'tag-moved', destinationDigest: current.digest };

  const atSource = await source.client.manifests.head(source.repository, tag, signal);
  if (atSource) return { reason: 'tag-exists-at-source', sourceDigest: atSource.digest };

  const limit = request.tagLimit ?? DEFAULT_TAG_LIMIT;
  const others = await otherTags(destination, tag, limit, signal);
  if (others === undefined) return { reason: 'too-many-tags', limit };
  const sharing = await tagsAt(destination, others, deletedDigest, signal);
  const held = await tagsAt(source, sharing, undefined, signal);
  if (held.length > 0) return { reason: 'digest-shared-by-tags', tags: held.sort() };
  return undefined;
}

/** Checks (checkDelete), then deletes the digest at the destination. */
export async function deleteTag(request: DeleteTagRequest): Promise<DeleteTagResult> {
  const refusal = await checkDelete(request);
  if (refusal) return { deleted: false, ...refusal };
  const { destination, deletedDigest, signal } = request;
  await destination.client.manifests.delete(destination.repository, deletedDigest, signal);
  return { deleted: true };
}

/** The destination's tags but `tag`; undefined when there are more than `limit`. */
async function otherTags(
  destination: RepositoryRef,
  tag: string,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<string[] | undefined> {
  const tags: string[] = [];
  // Pages no larger than needed to stop early in a repository of many tags.
  const pageSize = Math.min(limit + 1, 100);
  const pages = destination.client.listing.tags(
    destination.repository,
    signal ? { pageSize, signal } : { pageSize },
  );
  for await (const page of pages) {
    // A listed name outside the tag grammar is no tag any registry can hold (nor one to put
    // into a request path): it cannot be at the source either.
    tags.push(...page.filter((t) => t !== tag && isTag(t)));
    if (tags.length > limit) return undefined;
  }
  return tags;
}

function isTag(text: string): boolean {
  try {
    validateTag(text);
    return true;
  } catch (error) {
    if (error instanceof InvalidReferenceError) return false;
    throw error;
  }
}

/** Those of `tags` that exist in `side` (pointing at `digest`, when given). */
async function tagsAt(
  side: RepositoryRef,
  tags: readonly string[],
  digest: string | undefined,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const found = await mapLimit(tags, HEADS_AT_ONCE, async (tag) => {
    const head = await side.client.manifests.head(side.repository, tag, signal);
    return head !== undefined && (digest === undefined || head.digest === digest);
  });
  return tags.filter((_, index) => found[index]);
}
