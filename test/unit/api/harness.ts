import type { ApiPorts, ApiResponse, ScanRequest } from '../../../functions/lib/api/ports.ts';
import { handleApiRequest } from '../../../functions/lib/api/router.ts';
import { JobLifecycle } from '../../../functions/lib/jobs/lifecycle.ts';
import type { JobMessage } from '../../../functions/lib/jobs/message.ts';
import { ConfigStore } from '../../../functions/lib/stores/config-store.ts';
import { JobStore } from '../../../functions/lib/stores/jobs.ts';
import { LeaseStore } from '../../../functions/lib/stores/leases.ts';
import { PolicyRunStore } from '../../../functions/lib/stores/policy-runs.ts';
import { TagLockStore } from '../../../functions/lib/stores/tag-locks.ts';
import { type LocalTable, startLocalTable } from '../stores/local-table.ts';

/**
 * The management API on real stores (in-process dynalite) and the real job lifecycle (tag
 * locks, leases), with the queue and the background scan recorded instead of sent. The clock moves one millisecond per reading, so jobs created
 * one after the other list in that order.
 */
export interface ApiHarness {
  local: LocalTable;
  ports: ApiPorts;
  config: ConfigStore;
  jobs: JobStore;
  enqueued: JobMessage[];
  scans: ScanRequest[];
  /** What the router handed to `onError`. */
  errors: unknown[];
  /** Set to make `startScan` fail. */
  scanFailure: Error | undefined;
  /** The policies' run records (real); a sync started is recorded in `scans` as a `sync` request. */
  runs: PolicyRunStore<never>;
  call(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      rawBody?: string;
      query?: Record<string, string>;
      headers?: Record<string, string>;
      token?: string;
    },
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely and assert on them
  ): Promise<ApiResponse & { body: any }>;
  close(): Promise<void>;
}

export async function startApiHarness(): Promise<ApiHarness> {
  const local = await startLocalTable();
  let now = Date.parse('2025-01-01T00:00:00Z');
  const clock = () => now++;
  const config = new ConfigStore(local.client, local.tableName, { now: clock });
  const jobs = new JobStore(local.client, local.tableName, { now: clock });
  const leases = new LeaseStore(local.client, local.tableName, { now: clock });
  const lifecycle = new JobLifecycle({
    records: jobs,
    locks: new TagLockStore(local.client, local.tableName, { now: clock }),
    releaseLease: (jobId) => leases.release(jobId),
    enqueue: async (messages) => {
      harness.enqueued.push(...messages);
    },
    now: clock,
  });
  const runs = new PolicyRunStore<never>(local.client, local.tableName, { now: clock });
  const harness: ApiHarness = {
    local,
    runs,
    config,
    jobs,
    enqueued: [],
    scans: [],
    errors: [],
    scanFailure: undefined,
    ports: {
      config,
      jobs: {
        get: (id) => jobs.get(id),
        listByPolicy: (policy, options) => jobs.listByPolicy(policy, options),
        listByStatus: (status, options) => jobs.listByStatus(status, options),
        cancel: (id) => lifecycle.cancel(id),
        retry: (id) => lifecycle.retry(id),
      },
      startScan: async (request) => {
        if (harness.scanFailure) throw harness.scanFailure;
        harness.scans.push(request);
      },
      drift: {
        check: async () => {
          throw new Error('the harness has no registries: drift checks are tested against real ones');
        },
        startSync: async (policy) => {
          const runId = `run-${harness.scans.length + 1}`;
          const claim = await runs.claim({ policy, runId, trigger: 'manual', staleAfterMs: 3_600_000 });
          if (!claim.claimed) return { running: claim.running };
          harness.scans.push({ policy, scanId: runId, kind: 'sync', trigger: 'manual' });
          return { runId };
        },
        runs: (policy, limit) => runs.list(policy, limit),
      },
      now: clock,
    },
    call: (method, path, options = {}) => {
      const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      return handleApiRequest(
        harness.ports,
        {
          method,
          path,
          query: options.query ?? {},
          headers: {
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...options.headers,
          },
          body,
        },
        {
          token: options.token,
          onError: (error) => {
            harness.errors.push(error);
          },
        },
      );
    },
    close: () => local.close(),
  };
  return harness;
}

export { newJob } from '../../support/jobs.ts';

export const registries = {
  hubA: {
    name: 'hub-a',
    url: 'http://127.0.0.1:5001',
    credentials: { username: 'alice', password: 'hub-a-password-s3cret' },
  },
  dcB: { name: 'dc-b', url: 'http://127.0.0.1:5002' },
};

export const policy = {
  name: 'team-a-to-dc-b',
  source: { registry: 'hub-a', project: 'team-a' },
  destination: { registry: 'dc-b', namespace: 'mirror' },
  filters: { tags: ['v*', 'latest'] },
};
