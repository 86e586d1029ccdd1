import { z } from 'zod';

/**
 * The YAML config users write (DESIGN.md, "The interfaces users touch"). Unknown keys are
 * errors, so a typo never passes silently.
 */

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_PREFIX = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);

const name = z.string().regex(NAME, 'must be 1-63 of lowercase letters, digits, ".", "_" or "-"');
const repositoryPrefix = z
  .string()
  .regex(
    REPOSITORY_PREFIX,
    'must be a repository path such as team-a or team-a/x (lowercase, "/"-separated)',
  );
const globs = z.array(z.string().min(1)).min(1);

export const registrySchema = z.strictObject({
  name,
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine(
      (u) => new URL(u).pathname.replace(/\/$/, '') === '',
      'must not have a path (the API lives at /v2/)',
    ),
  kind: z.enum(['distribution', 'harbor', 'ghcr', 'ecr', 'quay', 'generic']).default('distribution'),
  credentials: z.strictObject({ username: z.string().min(1), password: z.string() }).optional(),
  insecure: z.boolean().default(false),
  caFile: z.string().min(1).optional(),
  rateLimit: z.strictObject({ requestsPerSecond: z.number().positive() }).optional(),
});

const sourceAuth = z.union([
  z.strictObject({ header: z.string().min(1), value: z.string().min(1) }),
  z.strictObject({ hmacSecret: z.string().min(1) }),
  z.strictObject({ query: z.string().min(1), value: z.string().min(1) }),
]);

export const sourceSchema = z.strictObject({
  name,
  registry: name,
  format: z.enum(['distribution', 'harbor', 'github', 'dockerhub', 'quay', 'zot']),
  auth: sourceAuth,
});

export const policySchema = z.strictObject({
  name,
  source: z.strictObject({ registry: name, project: repositoryPrefix }),
  destination: z.strictObject({ registry: name, namespace: repositoryPrefix.optional() }),
  filters: z
    .strictObject({
      repositories: globs.default(['**']),
      tags: globs.default(['**']),
      excludeRepositories: z.array(z.string().min(1)).default([]),
      excludeTags: z.array(z.string().min(1)).default([]),
    })
    .default({ repositories: ['**'], tags: ['**'], excludeRepositories: [], excludeTags: [] }),
  replicateDeletes: z.boolean().default(false),
  override: z.boolean().default(true),
  enabled: z.boolean().default(true),
});

const DEFAULT_LIMITS = { runningJobs: 10, perDestination: 4, blobsPerJob: 4 };

export const limitsSchema = z
  .strictObject({
    runningJobs: z.number().int().positive().default(DEFAULT_LIMITS.runningJobs),
    perDestination: z.number().int().positive().default(DEFAULT_LIMITS.perDestination),
    blobsPerJob: z.number().int().positive().default(DEFAULT_LIMITS.blobsPerJob),
  })
  .default(DEFAULT_LIMITS);

export const configSchema = z
  .strictObject({
    registries: z.array(registrySchema).default([]),
    sources: z.array(sourceSchema).default([]),
    policies: z.array(policySchema).default([]),
    limits: limitsSchema,
    api: z.strictObject({ token: z.string().min(1).optional() }).default({}),
  })
  .superRefine((config, ctx) => {
    const unique = (kind: 'registries' | 'sources' | 'policies') => {
      const seen = new Set<string>();
      config[kind].forEach((item, index) => {
        if (seen.has(item.name))
          ctx.addIssue({
            code: 'custom',
            path: [kind, index, 'name'],
            message: `duplicate name "${item.name}"`,
          });
        seen.add(item.name);
      });
    };
    unique('registries');
    unique('sources');
    unique('policies');
    const registries = new Set(config.registries.map((r) => r.name));
    const known = (path: (string | number)[], registry: string) => {
      if (!registries.has(registry))
        ctx.addIssue({ code: 'custom', path, message: `unknown registry "${registry}"` });
    };
    config.sources.forEach((s, i) => known(['sources', i, 'registry'], s.registry));
    config.policies.forEach((p, i) => {
      known(['policies', i, 'source', 'registry'], p.source.registry);
      known(['policies', i, 'destination', 'registry'], p.destination.registry);
    });
  });

export type CrossdockConfig = z.infer<typeof configSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type Limits = z.infer<typeof limitsSchema>;
