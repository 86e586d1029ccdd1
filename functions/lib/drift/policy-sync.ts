import { createHash } from 'node:crypto';
import type { PolicyConfig } from '#config/schema.ts';
import type { RegistryClient } from '#registry/client.ts';
import type { JobTarget, SubmittedJob } from '../jobs/job.ts';
import { JobBatches } from '../jobs/job-batches.ts';
import type { JobMessage } from '../jobs/message.ts';
import { PolicyStoppedError } from './errors.ts';
import { comparePolicy, type DriftCounts, type DriftEntry, emptyCounts } from './policy-drift.ts';

/**
 * A reconciliation run of one policy (docs/architecture.md, "Drift and reconciliation runs"):
 * compares its source with its destination (`comparePolicy`) and submits jobs only for what
 * differs, as the enable scan submits its jobs — recorded, tag lock claimed, sent in batches,
 * `origin: 'scan'` so that event jobs keep their priority in the admission lines:
 * - a missing tag, and a moved one where the policy's `override` is on: a push job;
 * - an extra tag, only where the policy's `replicateDeletes` is on: a delete job carrying the
 *   destination's digest, which goes through the guarded delete of delete events (CheckTag:
 *   `checkDelete` looks at both sides again and deletes nothing another source tag still needs).
 * Job ids derive from (run id, action, policy, repository, tag, digest): the same run again (a
 * restart, a retried invocation) submits the same ids and makes no second job. Where nothing
 * differs, no job is recorded.
 */

/** Why a scan or a run of a policy stops early: the policy changed under it. */
export type PolicyStop = 'policy disabled' | 'policy deleted';

/** Why work for a policy, read as `policy` now, must stop; undefined while it may go on. */
export const policyStop = (policy: { enabled: boolean } | undefined): PolicyStop | undefined =>
  !policy ? 'policy deleted' : !policy.enabled ? 'policy disabled' : undefined;

/** What a run (and a policy's scan, api/policy-scan.ts) needs: the policy, clients, job submission. */
export interface SyncPorts {
  policy(name: string): Promise<PolicyConfig | undefined>;
  /** A client for the configured registry of that name. */
  registryClient(name: string): Promise<RegistryClient>;
  submitJob(job: JobTarget): Promise<SubmittedJob>;
  enqueue(messages: JobMessage[]): Promise<void>;
}

export interface SyncOptions {
  /** Jobs sent to the queue per `enqueue` call (the policy is read again after each). */
  batchSize?: number;
  concurrency?: number;
  pageSize?: number;
  signal?: AbortSignal | undefined;
}

export interface SyncResult extends DriftCounts {
  /** Jobs submitted, by action (new, or recorded by an earlier run of this run id). */
  jobs: { push: number; delete: number };
  enqueued: number;
  /** Moved tags left alone because the policy's `override` is off. */
  movedKept: number;
  /** Extra tags left alone because the policy's `replicateDeletes` is off. */
  extraKept: number;
  stopped?: PolicyStop | undefined;
}

export function driftJobId(
  runId: string,
  action: JobTarget['action'],
  policy: string,
  repository: string,
  tag: string,
  digest: string | undefined,
): string {
  return createHash('sha256')
    .update(['drift', runId, action, policy, repository, tag, digest ?? ''].join('\n'))
    .digest('hex')
    .slice(0, 24);
}

export async function syncPolicy(
  ports: SyncPorts,
  request: { policy: string; runId: string },
  options: SyncOptions = {},
): Promise<SyncResult> {
  const result: SyncResult = {
    ...emptyCounts(),
    jobs: { push: 0, delete: 0 },
    enqueued: 0,
    movedKept: 0,
    extraKept: 0,
  };
  const policy = await ports.policy(request.policy);
  if (!policy) return { ...result, stopped: 'policy deleted' };
  if (!policy.enabled) return { ...result, stopped: 'policy disabled' };
  const [source, destination] = await Promise.all([
    ports.registryClient(policy.source.registry),
    ports.registryClient(policy.destination.registry),
  ]);

  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });

  const batchSize = options.batchSize ?? 10;
  const batches = new JobBatches(async (batch) => {
    await ports.enqueue(batch);
    result.enqueued += batch.length;
    const stopped = policyStop(await ports.policy(request.policy));
    if (stopped) {
      result.stopped = stopped;
      controller.abort(new PolicyStoppedError(stopped));
    }
  }, batchSize);

  const submit = async (entry: DriftEntry) => {
    const action = entry.kind === 'extra' ? 'delete' : 'push';
    if (entry.kind === 'moved' && !policy.override) {
      result.movedKept++;
      return;
    }
    if (entry.kind === 'extra' && !policy.replicateDeletes) {
      result.extraKept++;
      return;
    }
    const digest = action === 'push' ? entry.sourceDigest : entry.destinationDigest;
    const submitted = await ports.submitJob({
      origin: 'scan',
      id: driftJobId(request.runId, action, policy.name, entry.sourceRepository, entry.tag, digest),
      policy: policy.name,
      action,
      sourceRegistry: policy.source.registry,
      sourceRepository: entry.sourceRepository,
      tag: entry.tag,
      digest,
      destinationRegistry: policy.destination.registry,
      destinationRepository: entry.destinationRepository,
      override: policy.override,
    });
    result.jobs[action]++;
    await batches.add(submitted);
  };

  try {
    await comparePolicy(source, destination, policy, {
      onDrift: submit,
      counts: result,
      signal: controller.signal,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    });
  } catch (error) {
    // What was submitted is recorded: send it anyway.
    await batches.flush().catch(() => undefined);
    if (controller.signal.reason instanceof PolicyStoppedError) return result;
    throw error;
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
  await batches.flush();
  return result;
}
