import {
  DEFAULT_DISPATCHER_CONCURRENCY,
  DEFAULT_EXECUTION_TIMEOUT_SECONDS,
  DISPATCH_TIMEOUT_SECONDS,
  leaseTtlSeconds,
  MAX_RECEIVE_COUNT,
} from '../functions/lib/config/defaults.ts';
import type { Limits } from '../functions/lib/config/schema.ts';
import {
  WORKFLOW_FUNCTION_NAMES,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
} from '../functions/lib/workflow/functions.ts';

/**
 * AWS's limits on the pipeline, in one description that the CDK stack deploys and the local
 * runtime enforces (docs/reliability.md): per function its timeout and reserved concurrency,
 * per workflow state its timeout, the jobs queue's visibility timeout and receive count, the
 * dispatcher's event source. Everything derives from the config's `limits` and a few overrides
 * (CDK context when deployed; tests shrink numbers so they reach every limit quickly).
 */

/** The pipeline's Lambda functions other than the workflow's. */
export const SERVICE_FUNCTIONS = [
  'webhook',
  'health',
  'api',
  'authorizer',
  'scan',
  'dispatcher',
  'finalizer',
  'deadLetters',
  'reconciler',
  'schedule',
] as const;
export type ServiceFunction = (typeof SERVICE_FUNCTIONS)[number];
export type PipelineFunction = ServiceFunction | WorkflowFunction;

const SERVICE_TIMEOUTS: Record<ServiceFunction, number> = {
  webhook: 30,
  health: 30,
  api: 30,
  authorizer: 10,
  scan: 900,
  dispatcher: DISPATCH_TIMEOUT_SECONDS,
  finalizer: 60,
  deadLetters: 60,
  reconciler: 300,
  schedule: 60,
};

/** A state waits this much longer than its function may run, so a state never times out under a live invocation. */
export const STATE_TIMEOUT_MARGIN_SECONDS = 30;

export interface LimitOverrides {
  /** Reserved concurrency of the blob-copying function (the IO pool); default runningJobs × blobsPerJob. */
  transferConcurrency?: number | undefined;
  /** The jobs queue's share of the dispatcher's reserved concurrency, and its event source's maxConcurrency. */
  dispatcherConcurrency?: number | undefined;
  executionTimeoutSeconds?: number | undefined;
  /** Seconds, by function. */
  functionTimeouts?: Partial<Record<PipelineFunction, number>> | undefined;
  /** The dispatcher event source's maxConcurrency, when it should differ from its reserved concurrency. */
  dispatcherMaxConcurrency?: number | undefined;
  /** Messages per dispatcher invocation. */
  dispatchBatchSize?: number | undefined;
}

export interface FunctionLimits {
  timeoutSeconds: number;
  /** Invocations at once; beyond them an invocation is throttled. Unset: unreserved. */
  reservedConcurrency?: number | undefined;
}

export interface PipelineLimits {
  limits: Limits;
  executionTimeoutSeconds: number;
  leaseTtlSeconds: number;
  functions: Record<PipelineFunction, FunctionLimits>;
  /** TimeoutSeconds of the Task states that call each workflow function. */
  stateTimeoutSeconds: Record<WorkflowFunction, number>;
  jobQueue: {
    visibilityTimeoutSeconds: number;
    maxReceiveCount: number;
    deadLetterVisibilityTimeoutSeconds: number;
  };
  dispatcherSource: { batchSize: number; maxConcurrency: number };
  /**
   * The dispatcher's second event source, the queue of jobs admitted to a freed slot: its own
   * share of the dispatcher's reserved concurrency, so a hand-off is dispatched while the jobs
   * queue holds a backlog (docs/architecture.md, "Admission").
   */
  admittedSource: { batchSize: number; maxConcurrency: number };
}

/** Dispatcher invocations kept for the admitted jobs' queue (SQS event sources take at least 2). */
export const ADMITTED_SOURCE_CONCURRENCY = 2;

export function pipelineLimits(limits: Limits, overrides: LimitOverrides = {}): PipelineLimits {
  const executionTimeoutSeconds = overrides.executionTimeoutSeconds ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS;
  const dispatcherConcurrency = overrides.dispatcherConcurrency ?? DEFAULT_DISPATCHER_CONCURRENCY;
  const timeout = (name: PipelineFunction, standard: number) =>
    overrides.functionTimeouts?.[name] ?? standard;
  const functions = {} as Record<PipelineFunction, FunctionLimits>;
  for (const name of SERVICE_FUNCTIONS)
    functions[name] = { timeoutSeconds: timeout(name, SERVICE_TIMEOUTS[name]) };
  // Each event source gets its own share: the jobs queue's backlog can never take the slots a
  // hand-off needs.
  functions.dispatcher.reservedConcurrency = dispatcherConcurrency + ADMITTED_SOURCE_CONCURRENCY;
  const stateTimeoutSeconds = {} as Record<WorkflowFunction, number>;
  for (const name of WORKFLOW_FUNCTION_NAMES) {
    const spec = WORKFLOW_FUNCTIONS[name];
    functions[name] = {
      timeoutSeconds: timeout(name, spec.timeoutSeconds),
      ...('transfer' in spec && spec.transfer
        ? { reservedConcurrency: overrides.transferConcurrency ?? limits.runningJobs * limits.blobsPerJob }
        : {}),
    };
    stateTimeoutSeconds[name] = functions[name].timeoutSeconds + STATE_TIMEOUT_MARGIN_SECONDS;
  }
  return {
    limits,
    executionTimeoutSeconds,
    leaseTtlSeconds: leaseTtlSeconds(executionTimeoutSeconds),
    functions,
    stateTimeoutSeconds,
    // AWS asks for six times the consumer's timeout, so a slow batch is not redelivered mid-way.
    jobQueue: {
      visibilityTimeoutSeconds: functions.dispatcher.timeoutSeconds * 6,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      deadLetterVisibilityTimeoutSeconds: functions.deadLetters.timeoutSeconds * 6,
    },
    dispatcherSource: {
      batchSize: overrides.dispatchBatchSize ?? 10,
      maxConcurrency: overrides.dispatcherMaxConcurrency ?? dispatcherConcurrency,
    },
    admittedSource: { batchSize: 10, maxConcurrency: ADMITTED_SOURCE_CONCURRENCY },
  };
}

/**
 * What `cdk synth` refuses: a blob-copy pool smaller than what admission lets run at once
 * (runningJobs jobs × blobsPerJob blobs) throttles copies that admission already promised; a
 * dispatcher whose event sources may together run more invocations than it has reserved throttles
 * the hand-offs of freed slots.
 */
export function poolProblems(pipeline: PipelineLimits): string[] {
  const problems: string[] = [];
  const pool = pipeline.functions.MountOrCopyBlobs.reservedConcurrency ?? Number.POSITIVE_INFINITY;
  const demand = pipeline.limits.runningJobs * pipeline.limits.blobsPerJob;
  if (pool < demand)
    problems.push(
      `transferConcurrency ${pool} is smaller than runningJobs × blobsPerJob = ${pipeline.limits.runningJobs} × ${pipeline.limits.blobsPerJob} = ${demand}: raise transferConcurrency (or leave it unset to derive it) or lower runningJobs or blobsPerJob`,
    );
  // The jobs queue's source may not take the invocations kept for the admitted queue's.
  const dispatcher = pipeline.functions.dispatcher.reservedConcurrency ?? Number.POSITIVE_INFINITY;
  const sources = pipeline.dispatcherSource.maxConcurrency + pipeline.admittedSource.maxConcurrency;
  if (sources > dispatcher)
    problems.push(
      `dispatcherMaxConcurrency ${pipeline.dispatcherSource.maxConcurrency} is more than dispatcherConcurrency ${dispatcher - pipeline.admittedSource.maxConcurrency}: the jobs queue would take the dispatcher invocations kept for jobs handed a freed slot; leave it unset or raise dispatcherConcurrency`,
    );
  return problems;
}
