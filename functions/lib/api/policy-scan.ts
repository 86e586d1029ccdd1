import { createHash } from 'node:crypto';
import { forEachLimit } from '#replication/limit.ts';
import { listPolicyTags, type ScannedTag } from '#replication/policy-tags.ts';
import { PolicyStoppedError } from '../drift/errors.ts';
import { type PolicyStop, policyStop, type SyncPorts } from '../drift/policy-sync.ts';
import type { JobTarget } from '../jobs/job.ts';
import { JobBatches } from '../jobs/job-batches.ts';
import type { ScanRequest } from './ports.ts';

/**
 * The background scan of an enabled policy (enabling a policy replicates everything its
 * project holds: docs/architecture.md, "Management API"): the source's catalog and tags, page by page (`listPolicyTags`),
 * each tag resolved to its digest now (HEAD), and one push job per tag submitted as a webhook
 * delivery's jobs are (`submitJob`: recorded, tag lock claimed) and sent to the queue in batches.
 *
 * Job ids are derived from (scan id, policy, repository, tag, digest): the same scan run again
 * (a retried asynchronous invocation, a restart) submits the same ids and makes no second job.
 * A tag whose HEAD fails becomes a job without a digest: its FetchManifest resolves the tag again
 * and, if the registry still fails, the job records why and can be retried. A tag gone between
 * listing and HEAD is skipped. Tags of `sha256-<hex>` referrer fallbacks travel with their subject.
 *
 * The scan reads the policy again every `batchSize` jobs and every `recheckMs`: once the policy
 * is disabled or deleted it stops listing (jobs already submitted are still sent; the dispatcher
 * cancels those of a disabled policy).
 */

/** The same as a reconciliation run's: the policy, registry clients, job submission. */
export type ScanPorts = SyncPorts;

export interface ScanOptions {
  /** Jobs sent to the queue per `enqueue` call. */
  batchSize?: number;
  /** Tags resolved and submitted at once. */
  concurrency?: number;
  /** Catalog and tag page size asked of the registry. */
  pageSize?: number;
  recheckMs?: number;
  signal?: AbortSignal;
  now?: () => number;
}

export interface ScanResult {
  policy: string;
  scanId: string;
  /** Tags the policy covers, as listed. */
  tags: number;
  /** Jobs submitted (new or already recorded by an earlier run of this scan). */
  jobs: number;
  enqueued: number;
  /** Tags gone between listing and HEAD. */
  vanished: number;
  /** Why the scan stopped early. */
  stopped?: PolicyStop;
}

/** 24 hex digits of sha256 over the scan and the tag's identity, like the webhook's job ids. */
export function scanJobId(
  scanId: string,
  policy: string,
  repository: string,
  tag: string,
  digest: string | undefined,
): string {
  return createHash('sha256')
    .update(['scan', scanId, policy, repository, tag, digest ?? ''].join('\n'))
    .digest('hex')
    .slice(0, 24);
}

export async function scanPolicyJobs(
  ports: ScanPorts,
  request: ScanRequest,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const batchSize = options.batchSize ?? 10;
  const now = options.now ?? Date.now;
  const recheckMs = options.recheckMs ?? 5000;
  const result: ScanResult = {
    policy: request.policy,
    scanId: request.scanId,
    tags: 0,
    jobs: 0,
    enqueued: 0,
    vanished: 0,
  };
  const policy = await ports.policy(request.policy);
  if (!policy) return { ...result, stopped: 'policy deleted' };
  if (!policy.enabled) return { ...result, stopped: 'policy disabled' };
  const source = await ports.registryClient(policy.source.registry);

  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;

  let lastCheck = now();
  const checkPolicy = async () => {
    lastCheck = now();
    const stopped = policyStop(await ports.policy(request.policy));
    if (stopped && !signal.aborted) {
      result.stopped = stopped;
      controller.abort(new PolicyStoppedError(stopped));
    }
  };

  const batches = new JobBatches(async (batch) => {
    await ports.enqueue(batch);
    result.enqueued += batch.length;
  }, batchSize);

  const submit = async (scanned: ScannedTag): Promise<void> => {
    result.tags++;
    let digest: string | undefined;
    try {
      const descriptor = await source.manifests.head(scanned.sourceRepository, scanned.tag, signal);
      if (!descriptor) {
        result.vanished++;
        return;
      }
      digest = descriptor.digest;
    } catch (error) {
      if (signal.aborted) throw error;
      // FetchManifest resolves the tag again; a failure then shows in the job's record.
      digest = undefined;
    }
    const job: JobTarget = {
      origin: 'scan',
      id: scanJobId(request.scanId, policy.name, scanned.sourceRepository, scanned.tag, digest),
      policy: policy.name,
      action: 'push',
      sourceRegistry: policy.source.registry,
      sourceRepository: scanned.sourceRepository,
      tag: scanned.tag,
      digest,
      destinationRegistry: policy.destination.registry,
      destinationRepository: scanned.destinationRepository,
    };
    const submitted = await ports.submitJob(job);
    result.jobs++;
    if ((await batches.add(submitted)) || now() - lastCheck >= recheckMs) await checkPolicy();
  };

  // The first error of a task or of the listing; a stop for the policy is not one.
  let failure: { error: unknown } | undefined;
  const listing = listPolicyTags(source, policy, {
    signal,
    skipReferrerTags: true,
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
  try {
    await forEachLimit(listing, options.concurrency ?? 4, async (scanned) => {
      if (signal.aborted) return;
      try {
        await submit(scanned);
      } catch (error) {
        if (signal.aborted) return;
        failure ??= { error };
        controller.abort(error);
      }
    });
  } catch (error) {
    if (!signal.aborted || !(signal.reason instanceof PolicyStoppedError)) failure ??= { error };
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
  if (failure === undefined && signal.aborted && !(signal.reason instanceof PolicyStoppedError)) {
    failure = { error: signal.reason };
  }
  if (failure !== undefined) {
    // What was submitted is recorded: send it anyway, then report the first error.
    await batches.flush().catch(() => undefined);
    throw failure.error;
  }
  await batches.flush();
  return result;
}
