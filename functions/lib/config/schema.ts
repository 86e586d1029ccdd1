import { z } from 'zod';
import { linkLocalReason } from '#net/link-local.ts';
import { pemBundleProblem } from './ca-bundle.ts';
import { crossCheck } from './cross-check.ts';
import {
  DEFAULT_LIMITS,
  DEFAULT_RECONCILE_EVERY_MINUTES,
  DEFAULT_RECORDS_KEEP_DAYS,
  DEFAULT_STALE_AFTER_MINUTES,
  DEFAULT_TOO_LONG_MINUTES,
} from './defaults.ts';
import { parseSchedule, ScheduleSyntaxError } from './schedule.ts';

/**
 * The YAML config users write (README.md, "Run it with your registries"): its key names are a
 * contract. Unknown keys are errors, so that a typo never passes silently. Booleans and numbers
 * may also be written as strings ("true", "20"), so that they can come from `${ENV}`.
 */

/** Names appear in URLs (`/webhooks/{source}`, `/api/policies/{name}`) and job records. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** A repository path prefix, per the distribution spec's grammar of repository names. */
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QUERY_NAME = /^[A-Za-z0-9._~-]+$/;

/** Like z.strictObject, with an unknown key's error listing the keys that are known there. */
function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key; known keys: ${known}` : undefined),
  });
}

const name = z
  .string()
  .regex(NAME, 'must be 1 to 63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit');
const repositoryPath = z
  .string()
  .regex(REPOSITORY_PATH, 'must be a repository path such as team-a or team-a/x (lowercase, "/"-separated)');
const text = z.string().min(1, 'must not be empty');
const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const numeric = (v: unknown) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v);
const count = z.preprocess(numeric, z.number().int('must be a whole number').positive('must be at least 1'));

/** The registry's origin: its API is always at /v2/, and credentials live apart from the URL. */
const registryUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .superRefine((value, ctx) => {
    if (!URL.canParse(value)) return;
    const url = new URL(value);
    if (url.username !== '' || url.password !== '')
      ctx.addIssue({
        code: 'custom',
        message: 'must not hold credentials: use credentials: { username, password }',
      });
    if (url.pathname !== '/' && url.pathname !== '')
      ctx.addIssue({ code: 'custom', message: 'must not have a path (the registry API is always at /v2/)' });
    if (url.search !== '' || url.hash !== '')
      ctx.addIssue({ code: 'custom', message: 'must not have a query or a fragment' });
  })
  .transform((value) => new URL(value).origin);

export const registrySchema = strictObject({
  name,
  url: registryUrl,
  kind: z.enum(['distribution', 'harbor', 'ghcr', 'ecr', 'quay', 'generic']).default('distribution'),
  credentials: strictObject({ username: text, password: text }).optional(),
  /** https without certificate checks. */
  insecure: flag.default(false),
  /**
   * A PEM file of the CAs to trust; relative paths are relative to the config file. Read when
   * the config file is loaded, into caCertificates; never read by a request.
   */
  caFile: text.optional(),
  /** The PEM text of the CAs to trust: filled in from caFile at load, or given as it is (the API). */
  caCertificates: text
    .refine((pem) => pemBundleProblem(pem) === undefined, 'must be a PEM bundle of CERTIFICATE blocks')
    .optional(),
  rateLimit: strictObject({
    requestsPerSecond: z.preprocess(numeric, z.number().positive('must be more than 0')),
  }).optional(),
  /**
   * Seconds a response of this registry may send no byte before the read counts as stalled;
   * unset: DEFAULT_READ_IDLE_TIMEOUT_SECONDS.
   */
  readIdleTimeoutSeconds: z.preprocess(numeric, z.number().positive('must be more than 0')).optional(),
  /**
   * Lets the URL, its redirects and its token realm be link-local or cloud metadata addresses
   * (169.254.0.0/16, fe80::/10, metadata.google.internal, …), refused otherwise: a registry
   * entry must not become a way to read the machine's cloud credentials.
   */
  allowLinkLocal: flag.optional(),
})
  .refine((registry) => !(registry.insecure && registry.caFile !== undefined), {
    path: ['caFile'],
    message: 'cannot be used with insecure: true, which skips certificate checks',
  })
  .refine((registry) => !(registry.insecure && registry.caCertificates !== undefined), {
    path: ['caCertificates'],
    message: 'cannot be used with insecure: true, which skips certificate checks',
  })
  .superRefine((registry, ctx) => {
    if (registry.allowLinkLocal || !URL.canParse(registry.url)) return;
    const reason = linkLocalReason(new URL(registry.url).hostname);
    if (reason !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `${reason}; set allowLinkLocal: true if this registry really lives there`,
      });
  });

export type SourceAuth =
  | { header: string; value: string }
  | { hmacSecret: string }
  | { query: string; value: string };

/** One strict object checked by hand, so that errors say which key is missing rather than "invalid union". */
const sourceAuth = strictObject({
  header: z.string().regex(HEADER_NAME, 'must be an HTTP header name').optional(),
  query: z.string().regex(QUERY_NAME, 'must be a query parameter name').optional(),
  value: text.optional(),
  hmacSecret: text.optional(),
})
  .superRefine((auth, ctx) => {
    const kinds = (['header', 'query', 'hmacSecret'] as const).filter((key) => auth[key] !== undefined);
    if (kinds.length !== 1) {
      const message =
        kinds.length === 0
          ? 'must be one of { header, value }, { hmacSecret } or { query, value }'
          : `has both ${kinds.join(' and ')}; choose one`;
      ctx.addIssue({ code: 'custom', message });
    } else if (kinds[0] === 'hmacSecret' && auth.value !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'is not used with hmacSecret' });
    } else if (kinds[0] !== 'hmacSecret' && auth.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is required with ${kinds[0]}` });
    }
  })
  .transform(({ header, query, value, hmacSecret }): SourceAuth => {
    if (hmacSecret !== undefined) return { hmacSecret };
    if (header !== undefined) return { header, value: value as string };
    return { query: query as string, value: value as string };
  });

export const sourceSchema = strictObject({
  name,
  registry: name,
  format: z.enum(['distribution', 'harbor', 'github', 'dockerhub', 'quay', 'zot']),
  auth: sourceAuth,
});

const glob = text;
const includes = (item: z.ZodType<string>) =>
  z.array(item).min(1, 'must list at least one glob (["**"] for everything)').default(['**']);
const tagGlob = glob.refine((g) => !g.includes('/'), 'a tag never contains "/"');

/** `rate(N minutes|hours)` or 5 cron fields in UTC (schedule.ts); kept as written. */
const schedule = text.superRefine((value, ctx) => {
  try {
    parseSchedule(value);
  } catch (error) {
    if (!(error instanceof ScheduleSyntaxError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
  }
});

export const policySchema = strictObject({
  name,
  source: strictObject({ registry: name, project: repositoryPath }),
  destination: strictObject({ registry: name, namespace: repositoryPath.optional() }),
  filters: strictObject({
    repositories: includes(glob),
    tags: includes(tagGlob),
    excludeRepositories: z.array(glob).default([]),
    excludeTags: z.array(tagGlob).default([]),
  }).prefault({}),
  replicateDeletes: flag.default(false),
  /** Whether a destination tag that points to another digest is moved. */
  override: flag.default(true),
  enabled: flag.default(true),
  /**
   * When the source and destination are compared and the drift repaired (docs/architecture.md,
   * "Drift and reconciliation runs"); unset: only events, the enable scan and `policies sync`.
   */
  schedule: schedule.optional(),
});

export const limitsSchema = strictObject({
  runningJobs: count.default(DEFAULT_LIMITS.runningJobs),
  perDestination: count.default(DEFAULT_LIMITS.perDestination),
  blobsPerJob: count.default(DEFAULT_LIMITS.blobsPerJob),
}).prefault({});

/** The reconciler (docs/reliability.md): how often it runs, and when a job counts as not moving. */
export const reconcileSchema = strictObject({
  everyMinutes: count.default(DEFAULT_RECONCILE_EVERY_MINUTES),
  staleAfterMinutes: count.default(DEFAULT_STALE_AFTER_MINUTES),
  tooLongMinutes: count.default(DEFAULT_TOO_LONG_MINUTES),
}).prefault({});

/** The records: how many days a finished job is kept (then it expires, with its history). */
export const recordsSchema = strictObject({
  keepDays: count.default(DEFAULT_RECORDS_KEEP_DAYS),
}).prefault({});

export const configSchema = strictObject({
  registries: z.array(registrySchema).default([]),
  sources: z.array(sourceSchema).default([]),
  policies: z.array(policySchema).default([]),
  limits: limitsSchema,
  reconcile: reconcileSchema,
  records: recordsSchema,
  api: strictObject({
    /** '' (e.g. `${CROSSDOCK_API_TOKEN:-}`) means none given: `serve` then generates one (infra/local/api-token.ts). */
    token: z
      .string()
      .optional()
      .transform((token) => (token === '' ? undefined : token)),
  }).prefault({}),
})
  // Runs even when parts are invalid, so that one run reports every problem.
  .superRefine((config, ctx) => crossCheck(config, ctx), { when: () => true });

export type CrossdockConfig = z.infer<typeof configSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type PolicyFilters = PolicyConfig['filters'];
/** `limits`: jobs running at once overall and per destination registry, blobs of one job copied at once. */
export type Limits = z.infer<typeof limitsSchema>;
export type ReconcileSettings = z.infer<typeof reconcileSchema>;
export type RecordsSettings = z.infer<typeof recordsSchema>;
