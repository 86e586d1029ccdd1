import { z } from 'zod';
import {
  DEFAULT_BLOB_CLAIM_TTL_SECONDS,
  DEFAULT_COPY_BYTE_BUDGET,
  DEFAULT_LEASE_TTL_SECONDS,
  DEFAULT_LIMITS,
  DEFAULT_RECORDS_KEEP_DAYS,
  DEFAULT_STALE_AFTER_MINUTES,
  DEFAULT_TOO_LONG_MINUTES,
} from '#config/defaults.ts';
import type { JobIndexNames } from '../stores/job-indexes.ts';

/**
 * What every function reads from its environment (the CDK stack sets it; the local runtime
 * builds the same object from the config file and its state folder). Read once per process.
 */
export interface AppSettings {
  tableName: string;
  /**
   * The names of the table's job indexes (default JOB_INDEXES). The stack sets them while a
   * deployed table moves from the older indexes to these (docs/deploy.md); the local runtime
   * reads them from its table.
   */
  jobIndexes?: JobIndexNames | undefined;
  jobQueueUrl: string;
  /**
   * The queue of jobs admitted to a freed slot (docs/architecture.md, "Admission"): the
   * dispatcher reads it beside the jobs queue, so a hand-off never waits behind a backlog of new
   * jobs. Unset (a function that admits nothing, an older environment): the jobs queue.
   */
  admittedQueueUrl?: string | undefined;
  /** Absent in functions that start no execution. */
  stateMachineArn?: string | undefined;
  limits: { runningJobs: number; perDestination: number; blobsPerJob: number };
  /** Bytes one MountOrCopyBlobs invocation sends before handing the upload to the next. */
  copyByteBudget: number;
  /** How long a running slot stays taken when nobody releases it (a lost finalizer event). */
  leaseTtlSeconds: number;
  /**
   * How long a claim to copy a blob lasts unless renewed (config/defaults.ts
   * DEFAULT_BLOB_CLAIM_TTL_SECONDS when unset): a dead holder delays the others this long at most.
   */
  blobClaimTtlSeconds?: number | undefined;
  /** When the reconciler looks at a job that does not move, and when it counts it as too long. */
  reconcile: { staleAfterMs: number; tooLongMs: number };
  /**
   * Days a finished job's record is kept (config `records.keepDays`); unset, records never
   * expire. The stack and the local runtime always set it.
   */
  recordsKeepDays?: number | undefined;
  /** The first delay of a dead letter sent again; it doubles each round (at most 15 minutes). */
  deadLetterDelaySeconds: number;
  /**
   * The bearer token the API handler checks itself (the local runtime's `api.token`). Deployed,
   * the API's Lambda authorizer checks it instead, and this is unset.
   */
  apiToken?: string | undefined;
  /** The scan function, invoked asynchronously when a policy is enabled (deployed). */
  scanFunctionName?: string | undefined;
}

const count = z.coerce.number().int().positive();

const environmentSchema = z.object({
  TABLE_NAME: z.string().min(1),
  // "<by policy>,<by status>"
  JOB_INDEXES: z
    .string()
    .regex(/^[\w.-]{3,255},[\w.-]{3,255}$/, 'two index names, by policy and by status, separated by a comma')
    .optional(),
  JOB_QUEUE_URL: z.string().min(1),
  ADMITTED_QUEUE_URL: z.string().min(1).optional(),
  STATE_MACHINE_ARN: z.string().min(1).optional(),
  RUNNING_JOBS: count.default(DEFAULT_LIMITS.runningJobs),
  PER_DESTINATION: count.default(DEFAULT_LIMITS.perDestination),
  BLOBS_PER_JOB: count.default(DEFAULT_LIMITS.blobsPerJob),
  COPY_BYTE_BUDGET: count.default(DEFAULT_COPY_BYTE_BUDGET),
  LEASE_TTL_SECONDS: count.default(DEFAULT_LEASE_TTL_SECONDS),
  BLOB_CLAIM_TTL_SECONDS: count.default(DEFAULT_BLOB_CLAIM_TTL_SECONDS),
  STALE_AFTER_MINUTES: count.default(DEFAULT_STALE_AFTER_MINUTES),
  TOO_LONG_MINUTES: count.default(DEFAULT_TOO_LONG_MINUTES),
  DEAD_LETTER_DELAY_SECONDS: count.default(60),
  RECORDS_KEEP_DAYS: count.default(DEFAULT_RECORDS_KEEP_DAYS),
  SCAN_FUNCTION_NAME: z.string().min(1).optional(),
});

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AppSettings {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new SettingsError(`the function's environment is incomplete: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    tableName: e.TABLE_NAME,
    jobIndexes: jobIndexNames(e.JOB_INDEXES),
    jobQueueUrl: e.JOB_QUEUE_URL,
    admittedQueueUrl: e.ADMITTED_QUEUE_URL,
    stateMachineArn: e.STATE_MACHINE_ARN,
    limits: { runningJobs: e.RUNNING_JOBS, perDestination: e.PER_DESTINATION, blobsPerJob: e.BLOBS_PER_JOB },
    copyByteBudget: e.COPY_BYTE_BUDGET,
    leaseTtlSeconds: e.LEASE_TTL_SECONDS,
    blobClaimTtlSeconds: e.BLOB_CLAIM_TTL_SECONDS,
    reconcile: { staleAfterMs: e.STALE_AFTER_MINUTES * 60_000, tooLongMs: e.TOO_LONG_MINUTES * 60_000 },
    deadLetterDelaySeconds: e.DEAD_LETTER_DELAY_SECONDS,
    recordsKeepDays: e.RECORDS_KEEP_DAYS,
    scanFunctionName: e.SCAN_FUNCTION_NAME,
  };
}

function jobIndexNames(text: string | undefined): JobIndexNames | undefined {
  if (text === undefined) return undefined;
  const [byPolicy, byStatus] = text.split(',') as [string, string];
  return { byPolicy, byStatus };
}
