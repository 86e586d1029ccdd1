import { describe, expect, it } from 'vitest';
import {
  destinationRepository,
  matchingPolicies,
  policyMatches,
  projectCovers,
  repositoryMatches,
  tagMatches,
} from '#config/policy.ts';
import type { PolicyConfig } from '#config/schema.ts';

function policy(
  overrides: Partial<Omit<PolicyConfig, 'filters'>> & { filters?: Partial<PolicyConfig['filters']> } = {},
): PolicyConfig {
  return {
    name: 'p',
    source: { registry: 'hub-a', project: 'team-a' },
    destination: { registry: 'dc-b' },
    replicateDeletes: false,
    override: true,
    enabled: true,
    ...overrides,
    filters: {
      repositories: ['**'],
      tags: ['**'],
      excludeRepositories: [],
      excludeTags: [],
      ...overrides.filters,
    },
  };
}

describe('policy matching', () => {
  it('covers the project by whole path segments, never a longer name', () => {
    expect(projectCovers('team-a', 'team-a/app')).toBe(true);
    expect(projectCovers('team-a', 'team-a/x/y')).toBe(true);
    expect(projectCovers('team-a', 'team-a')).toBe(true);
    expect(projectCovers('team-a', 'team-ab/app')).toBe(false);
  });

  it('matches repository globs below the project, * within a segment and ** across', () => {
    const p = policy({ filters: { repositories: ['app*'] } });
    expect(repositoryMatches(p, 'team-a/app1')).toBe(true);
    expect(repositoryMatches(p, 'team-a/x/app1')).toBe(false);
    expect(repositoryMatches(policy({ filters: { repositories: ['**/app*'] } }), 'team-a/x/y/app1')).toBe(
      true,
    );
  });

  it('lets excludes win over includes', () => {
    const p = policy({ filters: { tags: ['v*'], excludeTags: ['*-rc*'], excludeRepositories: ['tmp/**'] } });
    expect(tagMatches(p, 'v1.0')).toBe(true);
    expect(tagMatches(p, 'v1.0-rc1')).toBe(false);
    expect(tagMatches(p, 'latest')).toBe(false);
    expect(repositoryMatches(p, 'team-a/tmp/x')).toBe(false);
  });

  it('matches no policy for an event without a tag', () => {
    expect(tagMatches(policy(), undefined)).toBe(false);
  });

  it('needs the registry, project, repository and tag to match, and only enabled policies count', () => {
    const on = policy();
    const off = policy({ name: 'off', enabled: false });
    expect(policyMatches(on, { registry: 'hub-b', repository: 'team-a/app', tag: 'v1' })).toBe(false);
    expect(matchingPolicies([on, off], { registry: 'hub-a', repository: 'team-a/app', tag: 'v1' })).toEqual([
      on,
    ]);
  });

  it('puts the destination under the namespace prefix', () => {
    expect(
      destinationRepository(policy({ destination: { registry: 'b', namespace: 'mirror' } }), 'team-a/app'),
    ).toBe('mirror/team-a/app');
    expect(destinationRepository(policy(), 'team-a/app')).toBe('team-a/app');
  });
});
