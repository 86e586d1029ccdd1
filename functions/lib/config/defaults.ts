/**
 * The defaults and limits more than one part reads — the config schema, the functions'
 * settings (their environment), the CDK stack and the local runtime — in one place, so that
 * what `serve` runs with and what `cdk deploy` deploys cannot drift apart.
 */

/** `limits` of the config: jobs running at once overall and per destination, blobs per job. */
export const DEFAULT_LIMITS = { runningJobs: 10, perDestination: 4, blobsPerJob: 4 } as const;

/** Bytes one MountOrCopyBlobs invocation sends before handing the open upload to the next. */
export const DEFAULT_COPY_BYTE_BUDGET = 1024 * 1024 * 1024;

/** Longest a job attempt (one execution) may run. */
export const DEFAULT_EXECUTION_TIMEOUT_SECONDS = 2 * 3600;

/**
 * How long a running slot stays taken when nobody releases it (a lost finalizer event): longer
 * than the longest execution, so a slot is never freed under a job that still runs.
 */
export const leaseTtlSeconds = (executionTimeoutSeconds: number) => executionTimeoutSeconds + 300;

export const DEFAULT_LEASE_TTL_SECONDS = leaseTtlSeconds(DEFAULT_EXECUTION_TIMEOUT_SECONDS);

/** The dispatcher's timeout; SQS's visibility timeout is six times it on AWS. */
export const DISPATCH_TIMEOUT_SECONDS = 60;

/** Dispatcher invocations at once (its reserved concurrency and the event source's maxConcurrency). */
export const DEFAULT_DISPATCHER_CONCURRENCY = 2;

/** Receives of a job message before it moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

/** Requests per second, and burst, the HTTP API accepts. */
export const DEFAULT_HTTP_THROTTLE = { rate: 50, burst: 100 } as const;

/**
 * The local gateway's request budgets (infra/local/route-access.ts): authenticated webhook
 * deliveries per source, authenticated API calls per client address, and requests that prove
 * nothing (a wrong secret, no token) per client address and route class, so a flood of those
 * never spends the others' budget. `/health` has none.
 */
export const LOCAL_REQUEST_BUDGETS = {
  webhook: DEFAULT_HTTP_THROTTLE,
  api: DEFAULT_HTTP_THROTTLE,
  unauthenticated: { rate: 5, burst: 20 },
} as const;

/** How often the reconciler runs (docs/reliability.md). */
export const DEFAULT_RECONCILE_EVERY_MINUTES = 5;

/** A QUEUED or RUNNING job untouched this long is looked at by the reconciler. */
export const DEFAULT_STALE_AFTER_MINUTES = 10;

/** Jobs QUEUED or RUNNING this long are counted (and alarmed on) as waiting too long. */
export const DEFAULT_TOO_LONG_MINUTES = 60;

/** Request bodies over this are refused with 413, webhooks and the management API alike. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/**
 * Seconds a registry's response body may send nothing before the read counts as stalled (a
 * registry's `readIdleTimeoutSeconds`): a source that stops mid-blob fails the copy in about a
 * minute instead of holding a running slot for an hour.
 */
export const DEFAULT_READ_IDLE_TIMEOUT_SECONDS = 30;

/**
 * Days a finished job's record is kept (config `records.keepDays`): then DynamoDB's TTL deletes
 * it when deployed, the sweeper locally. Unfinished jobs never expire.
 */
export const DEFAULT_RECORDS_KEEP_DAYS = 30;

/**
 * How long a claim to copy a blob lasts unless its holder renews it (it does, every third of
 * this, while it copies): a job whose copy died delays the others needing that blob at most this.
 */
export const DEFAULT_BLOB_CLAIM_TTL_SECONDS = 60;

/** How long the blob index trusts an entry nobody confirmed since (a blob the registry collected). */
export const BLOB_INDEX_TTL_DAYS = 30;

/**
 * How often the scheduled trigger of policy runs looks for due policies (an EventBridge rule
 * when deployed, a timer in `serve`): cron schedules are minutes, so a minute.
 */
export const SCHEDULE_TICK_MS = 60_000;

/** A `rate(...)` schedule counts as due this much early: a tick a few ms late must not skip one. */
export const SCHEDULE_SLACK_MS = 5_000;
