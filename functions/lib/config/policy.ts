import picomatch from 'picomatch';
import type { PolicyConfig } from './schema.ts';

/**
 * Which repositories and tags a policy covers.
 * - The project is a namespace matched by whole path segments: `team-a` covers `team-a`,
 *   `team-a/app` and `team-a/x/y`, never `team-ab/app`.
 * - Repository globs match the repository path *below the project* (`app*` matches
 *   `team-a/app1`; `**` matches everything in the project). `*` stays within one path
 *   segment, `**` spans segments. Excludes win over includes.
 * - Tag globs match the tag; a digest-only event (no tag) matches no policy.
 * Matchers are compiled once per policy object: this runs on the webhook's hot path.
 */

interface PolicyMatchers {
  repository: (path: string) => boolean;
  excludedRepository: (path: string) => boolean;
  tag: (tag: string) => boolean;
  excludedTag: (tag: string) => boolean;
}

const compiled = new WeakMap<PolicyConfig, PolicyMatchers>();
const NEVER = () => false;

function matcher(globs: string[]): (text: string) => boolean {
  return globs.length === 0 ? NEVER : picomatch(globs, { dot: true });
}

function matchers(policy: PolicyConfig): PolicyMatchers {
  let found = compiled.get(policy);
  if (!found) {
    found = {
      repository: matcher(policy.filters.repositories),
      excludedRepository: matcher(policy.filters.excludeRepositories),
      tag: matcher(policy.filters.tags),
      excludedTag: matcher(policy.filters.excludeTags),
    };
    compiled.set(policy, found);
  }
  return found;
}

export function projectCovers(project: string, repository: string): boolean {
  return repository === project || repository.startsWith(`${project}/`);
}

/** The repository's path below the policy's project (`team-a/x/app` → `x/app`); the project itself → ''. */
function pathInProject(policy: PolicyConfig, repository: string): string {
  return repository === policy.source.project ? '' : repository.slice(policy.source.project.length + 1);
}

export function repositoryMatches(policy: PolicyConfig, repository: string): boolean {
  if (!projectCovers(policy.source.project, repository)) return false;
  const path = pathInProject(policy, repository);
  const m = matchers(policy);
  return m.repository(path) && !m.excludedRepository(path);
}

export function tagMatches(policy: PolicyConfig, tag: string | undefined): boolean {
  if (tag === undefined) return false;
  const m = matchers(policy);
  return m.tag(tag) && !m.excludedTag(tag);
}

export interface RegistryEventTarget {
  registry: string;
  repository: string;
  tag?: string | undefined;
}

export function policyMatches(policy: PolicyConfig, target: RegistryEventTarget): boolean {
  return (
    policy.source.registry === target.registry &&
    repositoryMatches(policy, target.repository) &&
    tagMatches(policy, target.tag)
  );
}

/** The enabled policies an event on `target` must be replicated for. */
export function matchingPolicies(
  policies: readonly PolicyConfig[],
  target: RegistryEventTarget,
): PolicyConfig[] {
  return policies.filter((policy) => policy.enabled && policyMatches(policy, target));
}

/** `team-a/app` with namespace `mirror` → `mirror/team-a/app`; without a namespace, unchanged. */
export function destinationRepository(policy: PolicyConfig, sourceRepository: string): string {
  const namespace = policy.destination.namespace;
  return namespace === undefined ? sourceRepository : `${namespace}/${sourceRepository}`;
}
