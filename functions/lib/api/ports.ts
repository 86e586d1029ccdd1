import type { PolicyConfig } from '#config/schema.ts';
import type { DriftCheckOptions, DriftReport } from '../drift/drift-report.ts';
import type { SyncResult } from '../drift/policy-sync.ts';
import type { Job } from '../jobs/job.ts';
import type { ConfigStore } from '../stores/config-store.ts';
import type { JobStore } from '../stores/jobs.ts';
import type { PolicyRunRecord } from '../stores/policy-runs.ts';

/**
 * What the management API needs from the outside. The stores are the real DynamoDB stores
 * (dynalite locally); cancels and retries go through the job lifecycle (tag locks, the jobs
 * queue); `startScan` starts a policy's background scan (`scanPolicyJobs`): an asynchronous
 * Lambda invocation when deployed, a background promise locally. The API itself holds no AWS
 * SDK and no HTTP server.
 */

/** The config records the routes read and write. */
export type ApiConfigStore = Pick<
  ConfigStore,
  | 'putRegistry'
  | 'getRegistry'
  | 'listRegistries'
  | 'deleteRegistry'
  | 'putSource'
  | 'getSource'
  | 'listSources'
  | 'deleteSource'
  | 'putPolicy'
  | 'getPolicy'
  | 'listPolicies'
  | 'deletePolicy'
  | 'setPolicyEnabled'
>;

/** The jobs the routes read, cancel and retry. */
export interface ApiJobs extends Pick<JobStore, 'get' | 'listByPolicy' | 'listByStatus'> {
  /** A QUEUED job ends CANCELLED now (its tag handed on); a RUNNING one is flagged and stops at its next check. */
  cancel(id: string): Promise<Job>;
  /** A FAILED or CANCELLED job runs again as a new attempt: it claims its tag, then is queued. */
  retry(id: string): Promise<Job>;
}

/**
 * One background run over a policy: a scan (the same request twice submits the same job ids);
 * `kind: 'cancel'`, the cancelling of a disabled policy's jobs that did not fit in the
 * request's time budget; `kind: 'sync'`, a reconciliation run (functions/lib/drift) that
 * compares source and destination and submits jobs only for the drift, `trigger` saying who
 * asked (the schedule, or `policies sync`). All are recorded (ScanStore) and restarted alike.
 */
export interface ScanRequest {
  policy: string;
  /** Made when the scan is asked for; part of every job id the scan derives. A sync's run id. */
  scanId: string;
  kind?: 'cancel' | 'sync' | undefined;
  trigger?: 'schedule' | 'manual' | undefined;
}

/** A policy's reconciliation runs, as the API answers them (`GET /api/policies/{name}/runs`). */
export type PolicyRunView = PolicyRunRecord<SyncResult>;

/** Drift and reconciliation runs of a policy (functions/lib/drift). */
export interface ApiDrift {
  /** Compares the policy's source and destination now, changing nothing, within the options' budget. */
  check(policy: PolicyConfig, options: DriftCheckOptions): Promise<DriftReport>;
  /** Claims a run of the policy and starts it in the background: its id, or the run still going. */
  startSync(policy: string): Promise<{ runId: string } | { running: string | undefined }>;
  /** The policy's runs, newest first. */
  runs(policy: string, limit: number): Promise<PolicyRunView[]>;
}

export interface ApiPorts {
  config: ApiConfigStore;
  jobs: ApiJobs;
  drift: ApiDrift;
  /** Starts `scanPolicyJobs` for the request in the background and returns at once. */
  startScan(request: ScanRequest): Promise<void>;
  /** Milliseconds since the epoch. */
  now(): number;
  /** How long a request cancels a disabled policy's jobs before leaving the rest to the background (default 3 s). */
  cancelBudgetMs?: number;
}

/** A request as both infrastructures hand it over: API Gateway's HTTP API (payload 2.0) and the local server. */
export interface ApiRequest {
  method: string;
  /** The path without the query string, e.g. `/api/policies/team-a/enable`. */
  path: string;
  query?: Record<string, string | undefined>;
  /** Any case; the router compares them lower-cased. */
  headers?: Record<string, string | undefined>;
  /** The body as text (decoded from base64 by the caller where API Gateway encoded it). */
  body?: string | undefined;
}

export interface ApiResponse {
  statusCode: number;
  headers?: Record<string, string>;
  /** JSON-serialisable; `toHttpResponse` turns it into text. */
  body: unknown;
}

export interface ApiOptions {
  /** When set, every request needs `Authorization: Bearer <token>` (always set when deployed). */
  token?: string | undefined;
  /** Sees every unexpected error (answered as a 500 without its message), for the logs. */
  onError?: (error: unknown, request: ApiRequest) => void;
}
