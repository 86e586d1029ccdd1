import { destinationRepository, repositoryMatches, tagMatches } from '#config/policy.ts';
import type { PolicyConfig } from '#config/schema.ts';
import type { RegistryClient } from '#registry/client.ts';
import { RegistryNotFoundError } from '#registry/errors.ts';
import { mapLimit } from '#replication/limit.ts';

/**
 * How a policy's destination differs from its source now (docs/architecture.md, "Drift and
 * reconciliation runs"): what events did not say — a delivery a registry gave up on, an outage
 * longer than its retries, a tag deleted or moved at the destination by hand, filters changed.
 *
 * Page by page, one repository at a time: the source's catalog, filtered by the policy; for
 * each covered repository the tags of both sides (tags lists), then a HEAD per source tag and,
 * where the destination lists the tag too, a HEAD there; digests compared. Nothing else is
 * read: no manifest body, no blob. A repository's two tag lists are held while it is compared
 * (names only). Then the destination's catalog, for repositories of the policy that the source
 * no longer has (all their tags are extra). Every request goes through the registries'
 * clients, so their `rateLimit` budgets hold, with at most `concurrency` HEADs in flight.
 *
 * - missing: covered at the source, absent at the destination;
 * - moved: at both, on different digests;
 * - extra: at the destination (under the policy's mapping and tag filters) and not at the source.
 * `sha256-<hex>` referrer fallback tags travel with their subject and are never compared.
 */

export type DriftKind = 'missing' | 'moved' | 'extra';

export interface DriftEntry {
  kind: DriftKind;
  sourceRepository: string;
  destinationRepository: string;
  tag: string;
  /** The source's digest (missing, moved). */
  sourceDigest?: string | undefined;
  /** The destination's digest (moved, extra). */
  destinationDigest?: string | undefined;
}

export interface DriftCounts {
  /** Source repositories the policy covers, compared. */
  repositories: number;
  /** Tags compared: covered source tags, and destination tags looked at as extra. */
  tagsCompared: number;
  missing: number;
  moved: number;
  extra: number;
  /** Tags listed at the source that were gone by their HEAD. */
  vanished: number;
}

export const emptyCounts = (): DriftCounts => ({
  repositories: 0,
  tagsCompared: 0,
  missing: 0,
  moved: 0,
  extra: 0,
  vanished: 0,
});

export interface DriftOptions {
  /** Sees each difference as it is found (a run submits its job here). */
  onDrift(entry: DriftEntry): Promise<void>;
  /** Called after each tag compared (a drift check counts them against its budget). */
  onCompared?: (counts: DriftCounts) => void;
  /** Filled in as the comparison goes, so a caller that stops it early still has the figures. */
  counts?: DriftCounts;
  /** HEAD requests in flight at once, per side (default 8). */
  concurrency?: number;
  /** Catalog and tag page size asked of the registries. */
  pageSize?: number;
  signal?: AbortSignal | undefined;
}

const REFERRERS_TAG = /^sha256-[a-f0-9]{64}$/;
export const DEFAULT_DRIFT_CONCURRENCY = 8;

export async function comparePolicy(
  source: RegistryClient,
  destination: RegistryClient,
  policy: PolicyConfig,
  options: DriftOptions,
): Promise<DriftCounts> {
  const counts = options.counts ?? emptyCounts();
  const listing = {
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const concurrency = options.concurrency ?? DEFAULT_DRIFT_CONCURRENCY;
  const covered = (tag: string) => tagMatches(policy, tag) && !REFERRERS_TAG.test(tag);
  const seen = new Set<string>();

  for await (const page of source.listing.catalog(listing)) {
    for (const repository of page) {
      if (!repositoryMatches(policy, repository)) continue;
      seen.add(repository);
      counts.repositories++;
      const target = destinationRepository(policy, repository);
      const [sourceTags, destinationTags] = await Promise.all([
        tagsOf(source, repository, listing),
        tagsOf(destination, target, listing),
      ]);
      const atDestination = new Set(destinationTags);
      const atSource = new Set(sourceTags);
      await mapLimit(sourceTags.filter(covered), concurrency, async (tag) => {
        const [from, to] = await Promise.all([
          source.manifests.head(repository, tag, options.signal),
          atDestination.has(tag) ? destination.manifests.head(target, tag, options.signal) : undefined,
        ]);
        counts.tagsCompared++;
        options.onCompared?.(counts);
        if (!from) {
          counts.vanished++;
          return;
        }
        if (to?.digest === from.digest) return;
        const kind = to ? 'moved' : 'missing';
        counts[kind]++;
        await options.onDrift({
          kind,
          sourceRepository: repository,
          destinationRepository: target,
          tag,
          sourceDigest: from.digest,
          destinationDigest: to?.digest,
        });
      });
      const extra = destinationTags.filter((tag) => covered(tag) && !atSource.has(tag));
      await reportExtra(destination, repository, target, extra, counts, options, concurrency);
    }
  }

  // Repositories of the policy the source no longer has at all: everything there is extra.
  for await (const page of destination.listing.catalog(listing)) {
    for (const target of page) {
      const repository = sourceRepositoryOf(policy, target);
      if (repository === undefined || seen.has(repository) || !repositoryMatches(policy, repository))
        continue;
      const extra = (await tagsOf(destination, target, listing)).filter(covered);
      await reportExtra(destination, repository, target, extra, counts, options, concurrency);
    }
  }
  return counts;
}

async function reportExtra(
  destination: RegistryClient,
  repository: string,
  target: string,
  tags: string[],
  counts: DriftCounts,
  options: DriftOptions,
  concurrency: number,
): Promise<void> {
  await mapLimit(tags, concurrency, async (tag) => {
    const head = await destination.manifests.head(target, tag, options.signal);
    counts.tagsCompared++;
    options.onCompared?.(counts);
    if (!head) return;
    counts.extra++;
    await options.onDrift({
      kind: 'extra',
      sourceRepository: repository,
      destinationRepository: target,
      tag,
      destinationDigest: head.digest,
    });
  });
}

/** Every tag of a repository, page by page; none when the repository does not exist. */
async function tagsOf(
  client: RegistryClient,
  repository: string,
  listing: { pageSize?: number; signal?: AbortSignal },
): Promise<string[]> {
  const tags: string[] = [];
  try {
    for await (const page of client.listing.tags(repository, listing)) tags.push(...page);
  } catch (error) {
    if (error instanceof RegistryNotFoundError) return [];
    throw error;
  }
  return tags;
}

/** The source repository a destination repository mirrors under the policy; undefined when none. */
export function sourceRepositoryOf(policy: PolicyConfig, target: string): string | undefined {
  const namespace = policy.destination.namespace;
  const repository =
    namespace === undefined
      ? target
      : target.startsWith(`${namespace}/`)
        ? target.slice(namespace.length + 1)
        : undefined;
  if (repository === undefined) return undefined;
  return destinationRepository(policy, repository) === target ? repository : undefined;
}
