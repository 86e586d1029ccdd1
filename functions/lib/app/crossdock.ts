import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cancelPolicyJobs, type PolicyCancellation } from '../api/policy-jobs.ts';
import { type ScanOptions, type ScanPorts, type ScanResult, scanPolicyJobs } from '../api/policy-scan.ts';
import type { ApiConfigStore, ApiPorts, ScanRequest } from '../api/ports.ts';
import { type AdmissionPorts, admitParked } from '../dispatch/admission.ts';
import type { DeadLetterPorts } from '../dispatch/dead-letter.ts';
import type { DispatchPorts } from '../dispatch/dispatch-job.ts';
import { JobLifecycle } from '../jobs/lifecycle.ts';
import type { JobMessage } from '../jobs/message.ts';
import type { ExecutionState, ReconcilePorts } from '../reconcile/reconcile.ts';
import { logger, metrics } from '../runtime/observability.ts';
import { RegistryClientCache } from '../runtime/registry-clients.ts';
import { BlobClaimStore } from '../stores/blob-claims.ts';
import { BlobIndexStore } from '../stores/blob-index.ts';
import { ConfigStore } from '../stores/config-store.ts';
import { JobStore } from '../stores/jobs.ts';
import { LeaseStore } from '../stores/leases.ts';
import { ParkingStore, parkingOrder } from '../stores/parking.ts';
import { SharedRequestBudget } from '../stores/request-budgets.ts';
import { ScanStore } from '../stores/scans.ts';
import { TagLockStore } from '../stores/tag-locks.ts';
import type { WebhookPorts } from '../webhook/accept-delivery.ts';
import type { WorkflowJobs } from '../workflow/ports.ts';
import type { TaskDependencies } from '../workflow/tasks.ts';
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
  /** Starts the execution; one of that name already running or finished counts as started. */
  start(name: string, input: JobMessage): Promise<void>;
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
   * Registries' request budgets kept in the records, shared by every invocation (deployed);
   * otherwise each is kept in this process, which is the whole of the local runtime.
   */
  sharedRequestBudgets?: boolean | undefined;
  now?: () => number;
}

export class Crossdock {
  readonly settings: AppSettings;
  readonly jobs: JobStore;
  readonly locks: TagLockStore;
  readonly leases: LeaseStore;
  /** Registries, sources and policies; with a vault, their secrets are kept in it. */
  readonly config: ApiConfigStore;
  readonly scans: ScanStore;
  /** Jobs waiting for a running slot, per destination, in line. */
  readonly parking: ParkingStore;
  /** Where blobs are in the destination registries, and the claims to copy one (shared blobs). */
  readonly blobIndex: BlobIndexStore;
  readonly blobClaims: BlobClaimStore;
  readonly queue: JobQueue;
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
    this.jobs = new JobStore(dynamo, settings.tableName, { ...options, keepDays: settings.recordsKeepDays });
    this.locks = new TagLockStore(dynamo, settings.tableName, options);
    this.leases = new LeaseStore(dynamo, settings.tableName, options);
    const records = new ConfigStore(dynamo, settings.tableName, options);
    this.config = services.vault ? new VaultedConfigStore(records, services.vault) : records;
    this.scans = new ScanStore(dynamo, settings.tableName, options);
    this.parking = new ParkingStore(dynamo, settings.tableName, options);
    this.blobIndex = new BlobIndexStore(dynamo, settings.tableName, options);
    this.blobClaims = new BlobClaimStore(dynamo, settings.tableName, {
      ...options,
      ...(settings.blobClaimTtlSeconds ? { ttlSeconds: settings.blobClaimTtlSeconds } : {}),
    });
    this.queue = new JobQueue(services.sqs, settings.jobQueueUrl);
    this.lifecycle = new JobLifecycle({
      records: this.jobs,
      locks: this.locks,
      releaseLease: (jobId) => this.leases.release(jobId),
      afterEnd: async (job, freedSlot) => {
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
      ...(services.sharedRequestBudgets
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
      now: () => this.#now(),
    };
  }

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
      await this.parking.park(job);
      if (job.wait?.reason !== 'slot') {
        await this.jobs.setWait(job.id, { reason: 'slot', since: new Date(this.#now()).toISOString() });
      }
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
    destinations: async () => [
      ...new Set((await this.config.listPolicies()).map((policy) => policy.destination.registry)),
    ],
    slotsInUse: (destination) => this.leases.countActive(destination),
    parked: (destination, limit) => this.parking.oldest(destination, limit),
    unpark: (parked) => this.parking.remove(parked),
    repark: (parked) => this.parking.restore(parked),
    reserve: (parked) => this.#takeSlots(parked.jobId, parked.destination, { renew: false }),
    send: (messages) => this.queue.send(messages),
  };

  /** The job records as the workflow tasks see them: a final status ends the job (slot, tag lock). */
  readonly workflowJobs: WorkflowJobs = {
    get: (id) => this.jobs.get(id),
    markRunning: (id, attempt, executionArn) => this.jobs.markRunning(id, attempt, executionArn),
    end: (id, status, error, attempt, note) => this.lifecycle.end(id, status, { error, attempt, note }),
    setSubstate: async (job, substate, progress) => {
      await this.jobs.setSubstate(job.id, substate, progress, job);
    },
    setUpload: (id, upload) => this.jobs.setUpload(id, upload),
    isCancelRequested: (id) => this.jobs.isCancelRequested(id),
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
  ): Promise<ScanResult | (PolicyCancellation & { policy: string; kind: 'cancel' })> {
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
      sharedBlobs: { index: this.blobIndex, claims: this.blobClaims },
      renewClaimEveryMs: (this.blobClaims.ttlSeconds * 1000) / 3,
      warn: (message, fields) => logger.warn(message, fields),
    };
  }

  async close(): Promise<void> {
    await this.registries.close();
  }
}

const titleCase = (status: string) => status.charAt(0) + status.slice(1).toLowerCase();
