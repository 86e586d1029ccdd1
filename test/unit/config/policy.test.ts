import { describe, expect, it } from 'vitest';
import {
  destinationRepository,
  matchingPolicies,
  policyMatches,
  projectCovers,
  repositoryMatches,
  tagMatches,
} from '#config/policy.ts';
import type { PolicyConfig, PolicyFilters } from '#config/schema.ts';

function policy(
  overrides: Partial<Omit<PolicyConfig, 'filters'>> & { filters?: Partial<PolicyFilters> } = {},
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

describe('projectCovers', () => {
  it('covers the project and everything below it, by whole path segments', () => {
    expect(projectCovers('team-a', 'team-a/app')).toBe(true);
    expect(projectCovers('team-a', 'team-a/x/y')).toBe(true);
    expect(projectCovers('team-a', 'team-a')).toBe(true);
    expect(projectCovers('team-a/x', 'team-a/x/y')).toBe(true);
  });

  it('never covers a repository whose name merely starts like the project', () => {
    expect(projectCovers('team-a', 'team-ab/app')).toBe(false);
    expect(projectCovers('team-a', 'team-ab')).toBe(false);
    expect(projectCovers('team-a/x', 'team-a/xy')).toBe(false);
    expect(projectCovers('team-a', 'other/team-a/app')).toBe(false);
  });
});

describe('repositoryMatches', () => {
  it('matches globs written relative to the project', () => {
    const p = policy({ filters: { repositories: ['app*'] } });

    expect(repositoryMatches(p, 'team-a/app1')).toBe(true);
    expect(repositoryMatches(p, 'team-a/web')).toBe(false);
  });

  it('matches globs written as the full repository name', () => {
    const p = policy({ filters: { repositories: ['team-a/app*'] } });

    expect(repositoryMatches(p, 'team-a/app1')).toBe(true);
    expect(repositoryMatches(p, 'team-a/web')).toBe(false);
  });

  it('keeps * within one path segment and lets ** span segments', () => {
    expect(repositoryMatches(policy({ filters: { repositories: ['*'] } }), 'team-a/app')).toBe(true);
    expect(repositoryMatches(policy({ filters: { repositories: ['*'] } }), 'team-a/x/app')).toBe(false);
    expect(repositoryMatches(policy({ filters: { repositories: ['x/*'] } }), 'team-a/x/y/app')).toBe(false);
    expect(repositoryMatches(policy({ filters: { repositories: ['x/**'] } }), 'team-a/x/y/app')).toBe(true);
    expect(repositoryMatches(policy({ filters: { repositories: ['**/app*'] } }), 'team-a/x/y/app1')).toBe(
      true,
    );
    expect(repositoryMatches(policy({ filters: { repositories: ['**/app*'] } }), 'team-a/app1')).toBe(true);
  });

  it('matches everything in the project with **, the project itself included, and nothing outside it', () => {
    const p = policy();

    expect(repositoryMatches(p, 'team-a')).toBe(true);
    expect(repositoryMatches(p, 'team-a/x/y/z')).toBe(true);
    expect(repositoryMatches(p, 'team-ab/app')).toBe(false);
    expect(repositoryMatches(policy({ filters: { repositories: ['team-ab/**'] } }), 'team-ab/app')).toBe(
      false,
    );
  });

  it('lets an exclude win over an include, in either form', () => {
    const p = policy({
      filters: { repositories: ['**'], excludeRepositories: ['tmp/**', 'team-a/scratch'] },
    });

    expect(repositoryMatches(p, 'team-a/app')).toBe(true);
    expect(repositoryMatches(p, 'team-a/tmp/x')).toBe(false);
    expect(repositoryMatches(p, 'team-a/scratch')).toBe(false);
  });
});

describe('tagMatches', () => {
  it('matches tag globs and lets excludes win over includes', () => {
    const p = policy({ filters: { tags: ['v*', 'latest'], excludeTags: ['*-rc*'] } });

    expect(tagMatches(p, 'v1.0')).toBe(true);
    expect(tagMatches(p, 'latest')).toBe(true);
    expect(tagMatches(p, 'v1.0-rc1')).toBe(false);
    expect(tagMatches(p, 'dev')).toBe(false);
  });

  it('supports picomatch syntax: ?, classes and braces', () => {
    const p = policy({ filters: { tags: ['v?.{0,1}', '[0-9]*'] } });

    expect(tagMatches(p, 'v2.1')).toBe(true);
    expect(tagMatches(p, '2024-01')).toBe(true);
    expect(tagMatches(p, 'v2.2')).toBe(false);
  });

  it('matches no policy for a digest-only event, which has no tag', () => {
    expect(tagMatches(policy(), undefined)).toBe(false);
  });
});

describe('policyMatches and matchingPolicies', () => {
  const event = { registry: 'hub-a', repository: 'team-a/app', tag: 'v1' };

  it('needs the registry, the project, the repository and the tag to match', () => {
    expect(policyMatches(policy(), event)).toBe(true);
    expect(policyMatches(policy(), { ...event, registry: 'dc-b' })).toBe(false);
    expect(policyMatches(policy(), { ...event, repository: 'team-ab/app' })).toBe(false);
    expect(policyMatches(policy({ filters: { tags: ['latest'] } }), event)).toBe(false);
    expect(policyMatches(policy(), { ...event, tag: undefined })).toBe(false);
  });

  it('returns the enabled policies that match, in config order, from a config or a list', () => {
    // Arrange
    const first = policy({ name: 'first' });
    const disabled = policy({ name: 'disabled', enabled: false });
    const otherProject = policy({ name: 'other', source: { registry: 'hub-a', project: 'team-b' } });
    const second = policy({ name: 'second', destination: { registry: 'dc-c' } });
    const policies = [first, disabled, otherProject, second];

    // Act & Assert
    expect(matchingPolicies(policies, event)).toEqual([first, second]);
    expect(matchingPolicies({ policies }, event)).toEqual([first, second]);
  });

  it('compiles the globs once per policy, so repeated calls agree', () => {
    const p = policy({ filters: { tags: ['v*'] } });

    expect([1, 2, 3].map(() => policyMatches(p, event))).toEqual([true, true, true]);
  });
});

describe('destinationRepository', () => {
  it('puts the repository under the namespace', () => {
    const p = policy({ destination: { registry: 'dc-b', namespace: 'mirror' } });

    expect(destinationRepository(p, 'team-a/app')).toBe('mirror/team-a/app');
    expect(
      destinationRepository(
        policy({ destination: { registry: 'dc-b', namespace: 'dc/mirror' } }),
        'team-a/x/y',
      ),
    ).toBe('dc/mirror/team-a/x/y');
  });

  it('keeps the repository name without a namespace', () => {
    expect(destinationRepository(policy(), 'team-a/app')).toBe('team-a/app');
  });
});
