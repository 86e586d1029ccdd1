import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cancelPolicyJobs, type PolicyCancellation } from '../api/policy-jobs.ts';
import { type ScanOptions, type ScanPorts, type ScanResult, scanPolicyJobs } from '../api/policy-scan.ts';
import type { ApiConfigStore, ApiPorts, ScanRequest } from '../api/ports.ts';
import { DEFAULT_BLOB_CLAIM_TTL_SECONDS } from '../config/defaults.ts';
import { type AdmissionPorts, admitParked } from '../dispatch/admission.ts';
import type { DeadLetterPorts } from '../dispatch/dead-letter.ts';
import type { DispatchPorts } from '../dispatch/dispatch-job.ts';
import { checkDrift } from '../drift/drift-report.ts';
import type { DueRunPorts } from '../drift/due-runs.ts';
import { type SyncResult, syncPolicy } from '../drift/policy-sync.ts';
import { JobLifecycle } from '../jobs/lifecycle.ts';
import type { ExecutionInput, ExecutionStart } from '../jobs/message.ts';
import { ProcessSlots } from '../jobs/process-slots.ts';
import type { RunningSlots } from '../jobs/running-slots.ts';
import { SlotLending } from '../jobs/slot-lending.ts';
import type { ExecutionState, ReconcilePorts } from '../reconcile/reconcile.ts';
import type { BlobClaims, SharedBlobs } from '../replication/blob-index.ts';
import { LocalBlobClaims } from '../replication/blob-locations.ts';
import { SHARED_COPY_MIN_BYTES } from '../replication/shared-blob.ts';
import { logger, metrics } from '../runtime/observability.ts';
import { RegistryClientCache } from '../runtime/registry-clients.ts';
import { BlobClaimStore } from '../stores/blob-claims.ts';
import { BlobIndexStore } from '../stores/blob-index.ts';
import { ConfigStore } from '../stores/config-store.ts';
import { newJobId } from '../stores/job-ids.ts';
import { JobStore } from '../stores/jobs.ts';
import { LeaseStore } from '../stores/leases.ts';
import { ParkingStore, parkingOrder } from '../stores/parking.ts';
import { PolicyRunStore, type RunTrigger } from '../stores/policy-runs.ts';
import { SharedRequestBudget } from '../stores/request-budgets.ts';
import { ScanStore } from '../stores/scans.ts';
import { TagLockStore } from '../stores/tag-locks.ts';
import type { WebhookPorts } from '../webhook/accept-delivery.ts';
import type { TaskDependencies, WorkflowJobs } from '../workflow/ports.ts';
import { JobQueue } from './job-queue.ts';
import type { AppSettings } from './settings.ts';
import { type SecretVault, VaultedConfigStore } from './vaulted-config.ts';

/**
 * The wiring every function shares: the stores on the one table, the jobs queue, registry
 * clients, and the ports each domain module asks for. Built once per process — from the
 * environment in a Lambda (`environment.ts`), from the state folder by the local runtime — so
 * the handler modules are the same in both.
 */

/** Step Functions as the pipeline uses it: start a job's execution, ask how one stands. */
export interface Executions {
  /**
   * Starts the execution: 'started', or 'existed' when one of that name was there already
   * (finished, or running where the answer says so: AWS answers a running one with the same
   * input as a start), which the caller may not assume still runs.
   */
  start(name: string, input: ExecutionInput): Promise<ExecutionStart>;
  describe(executionArn: string): Promise<ExecutionState>;
}

export interface ScanStarter {
  /** Runs `scanPolicyJobs` for the request in the background (an async invocation on AWS). */
  start(request: ScanRequest): Promise<void>;
}

export interface AppServices {
  settings: AppSettings;
  dynamo: DynamoDBDocumentClient;
  sqs: SQSClient;
  executions: Executions;
  scans: ScanStarter;
  /** Where the secrets of registries and sources are kept instead of the records (Secrets Manager deployed, secrets.json locally). */
  vault?: SecretVault | undefined;
  /** Reads a secret by name (Secrets Manager when deployed, env or a file locally). */
  secret?: ((name: string) => Promise<string | undefined>) | undefined;
  /**
   * What invocations coordinate through — registries' request budgets, running slots
   * (functions/lib/jobs/running-slots.ts), blob claims — kept in the records, shared by every
   * invocation (deployed); otherwise in this process, which runs every job of the local runtime
   * and starts with none of them after a restart (docs/architecture.md, "Local runtime"). Unset,
   * the process is also its records' only writer: the config, blob index and parking stores keep
   * what they read and wrote (`soleWriter`).
   */
  sharedCoordination?: boolean | undefined;
  now?: () => number;
}

/** How long admission trusts the destinations it read from the policies. */
const DESTINATIONS_TTL_MS = 10_000;

export class Crossdock {
  readonly settings: AppSettings;
  readonly jobs: JobStore;
  readonly locks: TagLockStore;
  readonly leases: RunningSlots;
  /** Registries, sources and policies; with a vault, their secrets are kept in it. */
  readonly config: ApiConfigStore;
  readonly scans: ScanStore;
  /** Each policy's reconciliation runs: the last start, the run going, what each found. */
  readonly policyRuns: PolicyRunStore<SyncResult>;
  /** Jobs waiting for a running slot, per destination, in line. */
  readonly parking: ParkingStore;
  /** Where blobs are in the destination registries, and the claims to copy one (shared blobs). */
  readonly blobIndex: BlobIndexStore;
  /** Claims to copy a blob (the table's deployed, this process's locally: `sharedCoordination`). */
  readonly blobClaims: BlobClaims;
  /** How long a claim lasts unless its holder renews it (the copy renews every third of it). */
  readonly #blobClaimTtlSeconds: number;
  /** The copy steps' blob index and claims; one per process, so a release here wakes a waiter here. */
  readonly #sharedBlobs: SharedBlobs;
  /** The local runtime's: waiting jobs lend their slots (jobs/slot-lending.ts). */
  readonly #slotLending: SlotLending | undefined;
  readonly queue: JobQueue;
  /** Where a job admitted to a freed slot is sent (AppSettings.admittedQueueUrl). */
  readonly admittedQueue: JobQueue;
  readonly lifecycle: JobLifecycle;
  readonly registries: RegistryClientCache;
  readonly dynamo: DynamoDBDocumentClient;
  /** The management API's view: cancels and retries go through the job lifecycle (tag locks). */
  readonly apiPorts: ApiPorts;
  readonly #executions: Executions;
  readonly #scans: ScanStarter;
  readonly #now: () => number;

  constructor(services: AppServices) {
    const { settings, dynamo } = services;
    const options = services.now ? { now: services.now } : {};
    this.settings = settings;
    this.dynamo = dynamo;
    this.#now = services.now ?? Date.now;
    // Alone with its records (the local runtime), the process keeps what it reads of the
    // unfinished jobs, the config, the blob index and the parking lines, and changes it with its
    // own writes.
    const kept = { ...options, soleWriter: !services.sharedCoordination };
    this.jobs = new JobStore(dynamo, settings.tableName, {
      ...kept,
      keepDays: settings.recordsKeepDays,
      indexes: settings.jobIndexes,
    });
    this.locks = new TagLockStore(dynamo, settings.tableName, options);
    this.leases = services.sharedCoordination
      ? new LeaseStore(dynamo, settings.tableName, options)
      : new ProcessSlots(options);
    const records = new ConfigStore(dynamo, settings.tableName, kept);
    this.config = services.vault ? new VaultedConfigStore(records, services.vault) : records;
    this.scans = new ScanStore(dynamo, settings.tableName, options);
    this.policyRuns = new PolicyRunStore(dynamo, settings.tableName, {
      ...options,
      keepDays: settings.recordsKeepDays,
    });
    this.parking = new ParkingStore(dynamo, settings.tableName, kept);
    this.blobIndex = new BlobIndexStore(dynamo, settings.tableName, kept);
    this.#blobClaimTtlSeconds = settings.blobClaimTtlSeconds || DEFAULT_BLOB_CLAIM_TTL_SECONDS;
    // The table's claims write the blob index's items: never beside a sole-writer index (whose
    // kept items would not see them), which `kept` makes only without sharedCoordination.
    this.blobClaims = services.sharedCoordination
      ? new BlobClaimStore(dynamo, settings.tableName, { ...options, ttlSeconds: this.#blobClaimTtlSeconds })
      : new LocalBlobClaims({ ...options, ttlSeconds: this.#blobClaimTtlSeconds });
    this.#sharedBlobs = { index: this.blobIndex, claims: this.blobClaims, minBytes: SHARED_COPY_MIN_BYTES };
    // Every task of every job runs in this process (the local runtime): a job's blobs in flight
    // are all counted here, so one that only waits for another job's copy can lend its slot.
    this.#slotLending = services.sharedCoordination
      ? undefined
      : new SlotLending({
          release: (jobId) => this.leases.release(jobId),
          take: (job) => this.#takeSlots(job.id, job.destinationRegistry),
          admitParked: async () => {
            await this.admitParked();
          },
          warn: (message, fields) => logger.warn(message, fields),
        });
    this.queue = new JobQueue(services.sqs, settings.jobQueueUrl);
    this.admittedQueue = new JobQueue(services.sqs, settings.admittedQueueUrl ?? settings.jobQueueUrl);
    this.lifecycle = new JobLifecycle({
      records: this.jobs,
      locks: this.locks,
      releaseLease: (jobId) => this.leases.release(jobId),
      afterEnd: async (job, freedSlot) => {
        this.#slotLending?.forget(job.id);
        await Promise.all([
          // Only a job that never started can still wait in line (one that started left it).
          job.startedAt === undefined
            ? this.parking.remove({ destination: job.destinationRegistry, order: parkingOrder(job) })
            : undefined,
          freedSlot ? this.admitParked() : undefined,
        ]);
      },
      enqueue: (messages) => this.queue.send(messages),
      // JobsSucceeded, JobsFailed, …: the stack's FailedJobs alarm watches JobsFailed.
      onEnded: (status) => metrics.addMetric(`Jobs${titleCase(status)}`, MetricUnit.Count, 1),
      now: this.#now,
    });
    this.registries = new RegistryClientCache({
      registry: (name) => this.config.getRegistry(name),
      ...(services.secret ? { secret: services.secret } : {}),
      // Deployed, many invocations call a registry at once: its budget is kept in the records.
      ...(services.sharedCoordination
        ? {
            budget: (registry: string, requestsPerSecond: number) =>
              new SharedRequestBudget(
                services.dynamo,
                services.settings.tableName,
                registry,
                requestsPerSecond,
              ),
          }
        : {}),
    });
    this.#executions = services.executions;
    this.#scans = services.scans;
    this.apiPorts = {
      config: this.config,
      jobs: {
        get: (id) => this.jobs.get(id),
        listByPolicy: (policy, options) => this.jobs.listByPolicy(policy, options),
        listByStatus: (status, options) => this.jobs.listByStatus(status, options),
        cancel: (id) => this.lifecycle.cancel(id),
        retry: (id) => this.lifecycle.retry(id),
      },
      // Recorded first: a scan that a crash interrupts is started again (same id, same jobs).
      startScan: async (request) => {
        await this.scans.started(request);
        await this.#scans.start(request);
      },
      drift: {
        check: async (policy, options) =>
          checkDrift(
            await this.registries.client(policy.source.registry),
            await this.registries.client(policy.destination.registry),
            policy,
            options,
          ),
        startSync: async (policy) => {
          const started = await this.startSync(policy, 'manual');
          return started.claimed ? { runId: started.runId } : { running: started.running };
        },
        runs: (policy, limit) => this.policyRuns.list(policy, limit),
      },
      now: () => this.#now(),
    };
  }

  /**
   * Claims a reconciliation run of the policy (PolicyRunStore: one at a time; a scheduled one
   * only while `lastStartedAt` is still the last start) and starts it in the background like a
   * scan (recorded in ScanStore, so a restart runs it again with the same id and jobs).
   */
  async startSync(
    policy: string,
    trigger: RunTrigger,
    lastStartedAt?: string | null,
  ): Promise<{ claimed: true; runId: string } | { claimed: false; running: string | undefined }> {
    const runId = newJobId(this.#now());
    const claim = await this.policyRuns.claim({
      policy,
      runId,
      trigger,
      staleAfterMs: RUN_STALE_AFTER_MS,
      ...(lastStartedAt === undefined ? {} : { lastStartedAt }),
    });
    if (!claim.claimed) return { claimed: false, running: claim.running };
    try {
      await this.apiPorts.startScan({ policy, scanId: runId, kind: 'sync', trigger });
    } catch (error) {
      await this.policyRuns.finish(policy, runId, {
        status: 'failed',
        error: 'the run could not be started',
      });
      throw error;
    }
    return { claimed: true, runId };
  }

  /** What the scheduled trigger reads and starts (functions/lib/drift/due-runs.ts). */
  readonly dueRunPorts: DueRunPorts = {
    policies: () => this.config.listPolicies(),
    lastStartedAt: async (policy) => (await this.policyRuns.state(policy))?.lastStartedAt,
    start: async (policy, lastStartedAt) => (await this.startSync(policy, 'schedule', lastStartedAt)).claimed,
    now: () => this.#now(),
  };

  readonly webhookPorts: WebhookPorts = {
    source: (name) => this.config.getSource(name),
    policies: () => this.config.listPolicies(),
    replicatedDigest: async (policy, repository, tag) => {
      const lock = await this.locks.get({ policy, repository, tag });
      return lock?.action === 'push' ? lock.digest : undefined;
    },
    submitJob: (job) => this.lifecycle.submit(job),
    enqueue: (messages) => this.queue.send(messages),
    submitLater: (messages) => this.queue.send(messages),
  };

  readonly dispatchPorts: DispatchPorts = {
    job: (id) => this.jobs.get(id),
    policyEnabled: async (name) => (await this.config.getPolicy(name))?.enabled === true,
    cancel: async (jobId, reason) => {
      await this.lifecycle.end(jobId, 'CANCELLED', {
        error: { code: 'JobCancelled', message: reason },
        from: ['QUEUED'],
      });
    },
    park: async (job) => {
      this.#destinations?.names.add(job.destinationRegistry);
      await Promise.all([
        this.parking.park(job),
        job.wait?.reason === 'slot'
          ? undefined
          : this.jobs.setWait(job.id, { reason: 'slot', since: new Date(this.#now()).toISOString() }),
      ]);
    },
    waitsBehind: async (job) => {
      const [first] = await this.parking.oldest(job.destinationRegistry, 1);
      return first !== undefined && first.order < parkingOrder(job);
    },
    unpark: async (job) => {
      await this.parking.remove({ destination: job.destinationRegistry, order: parkingOrder(job) });
    },
    admitParked: async () => {
      await this.admitParked();
    },
    acquireLease: (job) => this.#takeSlots(job.id, job.destinationRegistry),
    holdsLease: (jobId) => this.leases.holds(jobId),
    releaseLease: (jobId) => this.leases.release(jobId),
    startExecution: (name, input) => this.#executions.start(name, input),
  };

  /** A running slot overall and one for the destination, within the limits; false when none is free. */
  #takeSlots(jobId: string, destination: string, options: { renew?: boolean } = {}): Promise<boolean> {
    return this.leases.acquire(
      {
        jobId,
        destination,
        globalLimit: this.settings.limits.runningJobs,
        perDestinationLimit: this.settings.limits.perDestination,
        ttlSeconds: this.settings.leaseTtlSeconds,
      },
      options,
    );
  }

  /**
   * The destinations jobs may be parked for, read from the policies at most every
   * DESTINATIONS_TTL_MS: a hand-off then costs no policy read. A job parked here for a
   * destination not yet known adds it at once; one parked by another process for a brand-new
   * policy's destination is seen at the next read (the reconciler admits it meanwhile too).
   */
  #destinations: { readAt: number; names: Set<string> } | undefined;

  async #parkingDestinations(): Promise<string[]> {
    const now = this.#now();
    if (!this.#destinations || now - this.#destinations.readAt > DESTINATIONS_TTL_MS) {
      const policies = await this.config.listPolicies();
      this.#destinations = {
        readAt: now,
        names: new Set(policies.map((policy) => policy.destination.registry)),
      };
    }
    return [...this.#destinations.names];
  }

  #admission: Promise<number> | undefined;
  #nextAdmission: Promise<number> | undefined;

  /**
   * Sends the parked jobs that fit into the free slots now (functions/lib/dispatch/admission.ts).
   * One admission at a time in this process: callers that come while one runs share one more
   * after it (it sees the slots they freed). Jobs are woken in line order, never two admissions
   * racing for the same first job, and a burst of ends costs one admission, not one each.
   */
  admitParked(): Promise<number> {
    if (!this.#admission) {
      this.#admission = admitParked(this.admissionPorts, this.settings.limits).finally(() => {
        this.#admission = undefined;
      });
      return this.#admission;
    }
    this.#nextAdmission ??= this.#admission
      .catch(() => 0)
      .then(() => {
        this.#nextAdmission = undefined;
        return this.admitParked();
      });
    return this.#nextAdmission;
  }

  readonly admissionPorts: AdmissionPorts = {
    destinations: () => this.#parkingDestinations(),
    slotsInUse: (destination) => this.leases.countActive(destination),
    parked: (destination, limit) => this.parking.oldest(destination, limit),
    unpark: (parked) => this.parking.remove(parked),
    repark: (parked) => this.parking.restore(parked),
    reserve: (parked) => this.#takeSlots(parked.jobId, parked.destination, { renew: false }),
    send: (messages) => this.admittedQueue.send(messages),
  };

  /** The job records as the workflow tasks see them: a final status ends the job (slot, tag lock). */
  readonly workflowJobs: WorkflowJobs = {
    get: (id) => this.jobs.get(id),
    markRunning: (id, attempt, executionArn, substate) =>
      this.jobs.markRunning(id, attempt, executionArn, substate),
    end: (id, status, error, attempt, note) => this.lifecycle.end(id, status, { error, attempt, note }),
    setSubstate: async (job, substate, progress, passing) => {
      await this.jobs.setSubstate(job.id, substate, progress, job, { passing });
    },
    keepLane: (id, index, lane) => this.jobs.keepLane(id, index, lane),
    isCancelRequested: (id) => this.jobs.isCancelRequested(id),
    enterSubstate: (id, attempt, substate, options) =>
      this.jobs.enterSubstate(id, attempt, substate, options),
  };

  /** What a policy's background scan needs: it submits jobs as the webhook does. */
  readonly scanPorts: ScanPorts = {
    policy: (name) => this.config.getPolicy(name),
    registryClient: (name) => this.registries.client(name),
    submitJob: (job) => this.lifecycle.submit(job),
    enqueue: (messages) => this.queue.send(messages),
  };

  /**
   * A background run the API asked for (`startScan`), to its end: the policy's scan, or the
   * cancelling of a disabled policy's jobs; then its record is removed (until then a restart
   * runs it again: both are idempotent).
   */
  async runScan(
    request: ScanRequest,
    options: ScanOptions = {},
  ): Promise<ScanResult | (PolicyCancellation & { policy: string; kind: 'cancel' }) | PolicySyncOutcome> {
    if (request.kind === 'sync') return this.#runSync(request, options);
    const result =
      request.kind === 'cancel'
        ? {
            policy: request.policy,
            kind: 'cancel' as const,
            ...(await cancelPolicyJobs(this.apiPorts.jobs, request.policy)),
          }
        : await scanPolicyJobs(this.scanPorts, request, options);
    await this.scans.finished(request.scanId);
    return result;
  }

  /**
   * A reconciliation run to its end: the drift repaired (functions/lib/drift/policy-sync.ts),
   * the result recorded on the run, its metrics counted, the claim released. A run stopped by
   * the process stopping stays recorded and runs again at the next start; a run that failed is
   * recorded as failed (the next scheduled run tries again).
   */
  async #runSync(request: ScanRequest, options: ScanOptions): Promise<PolicySyncOutcome> {
    const trigger = request.trigger ?? 'manual';
    const outcome = { policy: request.policy, kind: 'sync' as const, runId: request.scanId, trigger };
    let result: SyncResult;
    try {
      result = await syncPolicy(this.scanPorts, { policy: request.policy, runId: request.scanId }, options);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      await this.policyRuns.finish(request.policy, request.scanId, { status: 'failed', error: message });
      await this.scans.finished(request.scanId);
      logger.error('policy run failed', { ...outcome, error });
      return { ...outcome, status: 'failed', error: message };
    }
    await this.policyRuns.finish(request.policy, request.scanId, { status: 'finished', result });
    await this.scans.finished(request.scanId);
    countDrift(request.policy, trigger, result);
    return { ...outcome, status: 'finished', ...result };
  }

  /** What the dead-letter consumer needs (functions/lib/dispatch/dead-letter.ts). */
  readonly deadLetterPorts: DeadLetterPorts = {
    job: (id) => this.jobs.get(id),
    policyExists: async (name) => (await this.config.getPolicy(name)) !== undefined,
    end: (jobId, status, request) => this.lifecycle.end(jobId, status, request),
    requeue: (message, delaySeconds) => this.queue.requeue(message, delaySeconds),
  };

  /** What the reconciler reads and drives (functions/lib/reconcile). */
  readonly reconcilePorts: ReconcilePorts = {
    jobs: (status) => this.#allJobs(status),
    job: (id) => this.jobs.get(id),
    tagHolder: async (job) =>
      (await this.locks.get({ policy: job.policy, repository: job.sourceRepository, tag: job.tag }))?.jobId,
    execution: (executionArn) => this.#executions.describe(executionArn),
    requeue: (job) => this.lifecycle.requeue(job),
    remark: (jobId, note) => this.jobs.remark(jobId, note),
    parked: (job) => this.parking.has(job),
    admitParked: () => this.admitParked(),
    end: (jobId, status, request) => this.lifecycle.end(jobId, status, request),
    slotHolders: async () => {
      const destinations = (await this.config.listRegistries()).map((registry) => registry.name);
      return [...new Set((await this.leases.slots(destinations)).map((slot) => slot.jobId))];
    },
    releaseLease: async (jobId) => {
      await this.leases.release(jobId);
      // Slots its lease record does not list (a crash between taking them and recording them).
      const destinations = (await this.config.listRegistries()).map((registry) => registry.name);
      for (const slot of await this.leases.slots(destinations)) {
        if (slot.jobId === jobId) await this.leases.freeSlot(slot, jobId);
      }
    },
    now: () => this.#now(),
  };

  async *#allJobs(status: 'QUEUED' | 'RUNNING') {
    let cursor: string | undefined;
    do {
      const page = await this.jobs.listByStatus(status, { limit: 100, cursor });
      yield* page.jobs;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  get taskDependencies(): TaskDependencies {
    return {
      jobs: this.workflowJobs,
      clients: this.registries,
      byteBudget: this.settings.copyByteBudget,
      sharedBlobs: this.#sharedBlobs,
      renewClaimEveryMs: (this.#blobClaimTtlSeconds * 1000) / 3,
      ...(this.#slotLending ? { slotLending: this.#slotLending } : {}),
      warn: (message, fields) => logger.warn(message, fields),
    };
  }

  async close(): Promise<void> {
    await this.registries.close();
  }
}

/** A run not heard of for this long counts as dead (a scan function runs 15 minutes at most). */
export const RUN_STALE_AFTER_MS = 60 * 60_000;

export type PolicySyncOutcome = {
  policy: string;
  kind: 'sync';
  runId: string;
  trigger: RunTrigger;
} & (({ status: 'finished' } & SyncResult) | { status: 'failed'; error: string });

/**
 * `DriftFound` and `DriftJobs` by policy, and `ScheduledDriftFound` without a dimension for the
 * stack's alarm: drift found by a scheduled run means events are being missed.
 */
function countDrift(policy: string, trigger: RunTrigger, result: SyncResult): void {
  const found = result.missing + result.moved + result.extra;
  const byPolicy = metrics.singleMetric();
  byPolicy.addDimension('policy', policy);
  byPolicy.addMetric('DriftFound', MetricUnit.Count, found);
  const jobs = metrics.singleMetric();
  jobs.addDimension('policy', policy);
  jobs.addMetric('DriftJobs', MetricUnit.Count, result.jobs.push + result.jobs.delete);
  if (trigger === 'schedule')
    metrics.singleMetric().addMetric('ScheduledDriftFound', MetricUnit.Count, found);
}

const titleCase = (status: string) => status.charAt(0) + status.slice(1).toLowerCase();
