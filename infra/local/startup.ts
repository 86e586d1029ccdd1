import type { CrossdockConfig, RegistryConfig } from '#config/schema.ts';
import type { Crossdock } from '../../functions/lib/app/crossdock.ts';
import { logger } from '../../functions/lib/runtime/observability.ts';

/** What `serve` does at start, before it listens: the config applied, unfinished work driven on. */

/** `serve` applies the config at start: declared items are created or updated; others stay. */
export async function applyConfig(app: Crossdock, config: CrossdockConfig): Promise<void> {
  for (const registry of config.registries) await app.config.putRegistry(registry);
  for (const source of config.sources) await app.config.putSource(source);
  for (const policy of config.policies) await app.config.putPolicy(policy);
}

export interface Redrive {
  /** Jobs that hold their tag, sent to the dispatcher again. */
  redriven: number;
  /** Jobs that wait behind their tag's holder: queued when it ends. */
  waiting: number;
  /** Jobs that could not be driven on (their records say why in the log); start-up went on. */
  skipped: number;
}

/**
 * Every job the records call unfinished goes back on the queue when it holds its tag (a job
 * waiting behind another is queued when that one ends). Executions died with the old process;
 * the dispatcher starts `<job>-<attempt>` again, and every step is idempotent. One job that
 * cannot be driven on is logged and left as it is: it never keeps the runtime from starting.
 */
export async function redriveUnfinished(app: Crossdock): Promise<Redrive> {
  const report: Redrive = { redriven: 0, waiting: 0, skipped: 0 };
  for (const job of await app.jobs.listUnfinished()) {
    try {
      const submitted = await app.lifecycle.requeue(job);
      if (submitted.enqueue) report.redriven++;
      else report.waiting++;
    } catch (error) {
      report.skipped++;
      logger.error('could not drive this unfinished job on at start; it stays as the records hold it', {
        jobId: job.id,
        error,
      });
    }
  }
  if (report.skipped > 0) logger.warn('some unfinished jobs were not driven on at start', { ...report });
  return report;
}

/** Scans a stop interrupted start again (same id, same jobs); one that cannot is logged and skipped. */
export async function restartScans(app: Crossdock): Promise<void> {
  for (const scan of await app.scans.unfinished()) {
    try {
      await app.apiPorts.startScan({
        scanId: scan.scanId,
        policy: scan.policy,
        kind: scan.kind,
        trigger: scan.trigger,
      });
    } catch (error) {
      logger.error('could not restart an unfinished scan at start', { ...scan, error });
    }
  }
}

export interface RegistryCheck {
  name: string;
  url: string;
  /** The registry answered GET /v2/ with 200 (with its credentials, when it has some). */
  ok: boolean;
  /** Credentials were configured for it (else it was asked anonymously). */
  withCredentials: boolean;
  /** Why not, when not ok: the error's message. */
  problem?: string;
}

export interface RegistryCheckOptions {
  /** How long the checks may take in all (default 10 s); a registry silent that long fails its check. */
  timeoutMs?: number;
  /** Abandons the checks still waiting (serve stopping): they are neither reported nor logged. */
  signal?: AbortSignal | undefined;
  /** Each registry's result as soon as it is known, so one slow registry holds back no other line. */
  onCheck: (check: RegistryCheck) => void;
}

/**
 * Each configured registry's `GET /v2/` with its credentials, all at once: what `serve` reports
 * at start, so that an unreachable registry or refused credentials show before the first job
 * fails on them. It goes through the app's own clients, so the first jobs find a connection
 * open and the registry's auth scheme known (no 401 round trip to learn it). It never stops the
 * start.
 */
export async function checkRegistries(
  app: Crossdock,
  registries: Pick<RegistryConfig, 'name' | 'url' | 'credentials'>[],
  options: RegistryCheckOptions,
): Promise<void> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  await Promise.all(
    registries.map(async (registry) => {
      const check = {
        name: registry.name,
        url: registry.url,
        withCredentials: registry.credentials !== undefined,
      };
      try {
        const client = await app.registries.client(registry.name);
        await client.checkAccess(signal);
        options.onCheck({ ...check, ok: true });
      } catch (error) {
        if (options.signal?.aborted) return;
        const problem = error instanceof Error ? error.message : String(error);
        logger.warn('registry check failed at start', { registry: registry.name, error });
        options.onCheck({ ...check, ok: false, problem });
      }
    }),
  );
}
