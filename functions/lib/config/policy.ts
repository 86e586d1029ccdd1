import picomatch from 'picomatch';
import type { CrossdockConfig, PolicyConfig, PolicyFilters } from './schema.ts';

/**
 * Which repositories and tags a policy covers.
 * - The project is a namespace matched by whole path segments: `team-a` covers `team-a`,
 *   `team-a/app` and `team-a/x/y`, never `team-ab/app`.
 * - A repository glob may be written relative to the project or as the full repository name:
 *   with project `team-a`, both `app*` and `team-a/app*` match `team-a/app1`. A repository is
 *   included (or excluded) when either form matches. Nothing outside the project is ever
 *   covered, whatever the globs say.
 * - `*` stays within one path segment, `**` spans segments (`**` alone matches everything).
 *   picomatch syntax otherwise: `?`, `[abc]`, `{a,b}`.
 * - Excludes win over includes.
 * - A tag glob matches the whole tag. An event without a tag (digest-only) matches no policy:
 *   a job is one action on one tag, so the caller resolves tags first.
 * Matchers are compiled once per filters object: this runs on the webhook's hot path.
 */

/** What a policy is asked about: a tag of a repository of one configured registry (an event, a listed tag). */
export interface PolicySubject {
  /** The configured registry name it comes from. */
  registry: string;
  repository: string;
  tag?: string | undefined;
}

type Matcher = (text: string) => boolean;
interface FilterMatchers {
  repository: Matcher;
  excludedRepository: Matcher;
  tag: Matcher;
  excludedTag: Matcher;
}

const compiled = new WeakMap<PolicyFilters, FilterMatchers>();
const NEVER: Matcher = () => false;

function compile(globs: readonly string[]): Matcher {
  return globs.length === 0 ? NEVER : picomatch([...globs], { dot: true });
}

function matchersOf(filters: PolicyFilters): FilterMatchers {
  let found = compiled.get(filters);
  if (!found) {
    found = {
      repository: compile(filters.repositories),
      excludedRepository: compile(filters.excludeRepositories),
      tag: compile(filters.tags),
      excludedTag: compile(filters.excludeTags),
    };
    compiled.set(filters, found);
  }
  return found;
}

export function projectCovers(project: string, repository: string): boolean {
  return repository === project || repository.startsWith(`${project}/`);
}

export function repositoryMatches(
  policy: Pick<PolicyConfig, 'source' | 'filters'>,
  repository: string,
): boolean {
  const { project } = policy.source;
  if (!projectCovers(project, repository)) return false;
  // The project itself has no relative path: only the full-name form applies to it.
  const relative = repository === project ? undefined : repository.slice(project.length + 1);
  const matches = (matcher: Matcher) => matcher(repository) || (relative !== undefined && matcher(relative));
  const m = matchersOf(policy.filters);
  return matches(m.repository) && !matches(m.excludedRepository);
}

export function tagMatches(policy: Pick<PolicyConfig, 'filters'>, tag: string | undefined): boolean {
  if (tag === undefined) return false;
  const m = matchersOf(policy.filters);
  return m.tag(tag) && !m.excludedTag(tag);
}

/** Registry, project, repository filters and tag filters; `enabled` is not looked at. */
export function policyMatches(policy: PolicyConfig, event: PolicySubject): boolean {
  return (
    policy.source.registry === event.registry &&
    repositoryMatches(policy, event.repository) &&
    tagMatches(policy, event.tag)
  );
}

/** The enabled policies that an event must be replicated for, in config order. */
export function matchingPolicies(
  policies: Pick<CrossdockConfig, 'policies'> | readonly PolicyConfig[],
  event: PolicySubject,
): PolicyConfig[] {
  const list = 'policies' in policies ? policies.policies : policies;
  return list.filter((policy) => policy.enabled && policyMatches(policy, event));
}

/** `team-a/app` with namespace `mirror` → `mirror/team-a/app`; without a namespace, unchanged. */
export function destinationRepository(
  policy: Pick<PolicyConfig, 'destination'>,
  sourceRepository: string,
): string {
  const { namespace } = policy.destination;
  return namespace === undefined ? sourceRepository : `${namespace}/${sourceRepository}`;
}
