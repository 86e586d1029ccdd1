import { DEFAULT_READ_IDLE_TIMEOUT_SECONDS } from '#config/defaults.ts';
import { ConfigError } from '#config/errors.ts';
import { loadConfig } from '#config/load.ts';
import type { CrossdockConfig, PolicyConfig, RegistryConfig } from '#config/schema.ts';
import type { RegistryClient } from '#registry/client.ts';
import { RegistryUnauthorizedError } from '#registry/errors.ts';
import { forEachLimit, Semaphore } from '#replication/limit.ts';
import { listPolicyTags, type ScannedTag } from '#replication/policy-tags.ts';
import { replicateTag } from '#replication/replicate-tag.ts';
import { runBlobs } from './blob-cache.ts';
import type { SyncOptions } from './commands.ts';
import { type ClientPool, runSession } from './context.ts';
import type { CliIo } from './io.ts';
import { describeError } from './run-summary.ts';

interface SyncJob extends ScannedTag {
  policy: PolicyConfig;
  source: RegistryClient;
  destination: RegistryClient;
}

function clientFor(pool: ClientPool, registry: RegistryConfig): RegistryClient {
  return pool.forEndpoint({
    url: registry.url,
    name: registry.name,
    credentials: registry.credentials,
    insecure: registry.insecure === true,
    ca: registry.caCertificates,
    requestsPerSecond: registry.rateLimit?.requestsPerSecond,
    readIdleTimeoutSeconds: registry.readIdleTimeoutSeconds ?? DEFAULT_READ_IDLE_TIMEOUT_SECONDS,
    allowLinkLocal: registry.allowLinkLocal === true,
  });
}

function selectPolicies(config: CrossdockConfig, names: string[] | undefined): PolicyConfig[] {
  if (names === undefined) return config.policies.filter((p) => p.enabled);
  const unknown = names.filter((n) => !config.policies.some((p) => p.name === n));
  if (unknown.length > 0)
    throw new ConfigError([{ path: '--policy', message: `no policy named ${unknown.join(', ')}` }]);
  return config.policies.filter((p) => names.includes(p.name));
}

/**
 * A registry that refused a request sent without credentials (the config gives it none): the
 * message says where they go. Clients are named after the config's registries.
 */
function withCredentialsHint(error: unknown): unknown {
  if (error instanceof RegistryUnauthorizedError && error.anonymous)
    error.message += `: give registry ${error.registry} credentials in the config (credentials: { username, password })`;
  return error;
}

/** `crossdock sync --config FILE`: replicate once everything the enabled policies cover. */
export async function runSync(options: SyncOptions, io: CliIo): Promise<number> {
  let config: CrossdockConfig;
  let policies: PolicyConfig[];
  try {
    config = await loadConfig(options.config, io.env);
    policies = selectPolicies(config, options.policy);
  } catch (error) {
    io.stderr.write(`crossdock sync: ${describeError(error)}\n`);
    return 1;
  }

  return runSession(
    io,
    { quiet: options.quiet, dryRun: options.dryRun, label: 'sync' },
    async ({ pool, reporter, summary, signal }) => {
      const registries = new Map(config.registries.map((r) => [r.name, r]));
      const registry = (name: string) => clientFor(pool, registries.get(name) as RegistryConfig);
      const blobs = await runBlobs(io.env, options);
      const perDestination = new Map<string, Semaphore>();
      const destinationSlots = (name: string) => {
        let slots = perDestination.get(name);
        if (!slots) {
          slots = new Semaphore(config.limits.perDestination);
          perDestination.set(name, slots);
        }
        return slots;
      };

      async function* jobs(): AsyncGenerator<SyncJob> {
        for (const policy of policies) {
          const source = registry(policy.source.registry);
          const destination = registry(policy.destination.registry);
          try {
            for await (const scanned of listPolicyTags(source, policy, {
              signal,
              skipReferrerTags: options.referrers !== false,
            })) {
              yield { ...scanned, policy, source, destination };
            }
          } catch (error) {
            if (signal.aborted) throw error;
            summary.fail(`${policy.name}: listing ${source.name}`, withCredentialsHint(error));
          }
        }
      }

      const runJob = async (job: SyncJob): Promise<void> => {
        const label = `${job.policy.name}: ${job.source.name}/${job.sourceRepository}:${job.tag} → ${job.destination.name}/${job.destinationRepository}`;
        try {
          const result = await destinationSlots(job.destination.name).use(() =>
            replicateTag(
              {
                source: { client: job.source, repository: job.sourceRepository },
                destination: { client: job.destination, repository: job.destinationRepository },
                reference: job.tag,
              },
              {
                override: job.policy.override,
                dryRun: options.dryRun === true,
                referrers: options.referrers !== false,
                sourceTags: job.repositoryTags,
                blobsPerImage: config.limits.blobsPerJob,
                sharedBlobs: blobs.shared,
                signal,
                onEvent: (event) => reporter.event(job.destinationRepository, event),
              },
            ),
          );
          reporter.line(`${summary.record(result, options.dryRun === true)}: ${label}`);
        } catch (error) {
          summary.fail(label, withCredentialsHint(error));
          reporter.line(`FAILED ${label}: ${describeError(error)}`);
        }
      };

      try {
        await forEachLimit(jobs(), options.jobs ?? config.limits.runningJobs, runJob);
      } finally {
        await blobs.save();
      }
    },
  );
}
