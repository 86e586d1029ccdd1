import { destinationRepository, repositoryMatches, tagMatches } from '#config/policy.ts';
import type { PolicyConfig } from '#config/schema.ts';
import type { RegistryClient } from '#registry/client.ts';

const REFERRERS_TAG = /^sha256-[a-f0-9]{64}$/;

/** One tag a policy covers, and where it goes. */
export interface ScannedTag {
  sourceRepository: string;
  tag: string;
  destinationRepository: string;
  /** Every tag of the source repository as listed, its referrers' fallback tags included. */
  repositoryTags: ReadonlySet<string>;
}

/**
 * Everything a policy covers at its source, listed page by page: the catalog filtered by the
 * project and the repository globs, then each repository's tags filtered by the tag globs.
 * Yields as it lists, so a registry with many repositories is never held in memory whole (one
 * repository's tag list is).
 */
export async function* listPolicyTags(
  source: RegistryClient,
  policy: PolicyConfig,
  options: { pageSize?: number; signal?: AbortSignal; skipReferrerTags?: boolean } = {},
): AsyncGenerator<ScannedTag> {
  for await (const page of source.listing.catalog(options)) {
    for (const repository of page) {
      if (!repositoryMatches(policy, repository)) continue;
      // One repository's tags are read whole before any is yielded: its referrers' fallback tags
      // may be on a later page than their subject's tag.
      const repositoryTags = new Set<string>();
      for await (const tags of source.listing.tags(repository, options))
        for (const tag of tags) repositoryTags.add(tag);
      for (const tag of repositoryTags) {
        if (!tagMatches(policy, tag)) continue;
        // `sha256-<hex>` tags list referrers (OCI 1.1 fallback); they travel with their subject.
        if (options.skipReferrerTags && REFERRERS_TAG.test(tag)) continue;
        yield {
          sourceRepository: repository,
          tag,
          destinationRepository: destinationRepository(policy, repository),
          repositoryTags,
        };
      }
    }
  }
}
