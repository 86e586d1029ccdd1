import { isDeepStrictEqual } from 'node:util';
import type { PolicyConfig, SourceConfig } from '#config/schema.ts';
import { newJobId } from '../stores/job-ids.ts';
import { ApiConflictError, ApiNotFoundError, type Issue } from './errors.ts';
import { cancelPolicyJobs, type PolicyCancellation } from './policy-jobs.ts';
import type { ApiPorts, ApiResponse } from './ports.ts';
import {
  type Restored,
  redactRegistry,
  redactSource,
  restoreRegistrySecrets,
  restoreSourceSecrets,
} from './secrets.ts';
import { type ConfigItems, type ConfigKind, validateItem } from './validation.ts';

/**
 * Registries, sources and policies: list, get, create (POST), create or replace (PUT), delete.
 * Every answer carries the item with its secrets redacted. A write answers its `outcome`:
 * `created`, `updated`, or `unchanged` (the stored item already equals the body, secrets
 * included, and nothing was written); `crossdock apply` reports those.
 *
 * Policies have side effects on the transitions of `enabled`, whichever route makes them:
 * - becoming enabled (created enabled, or enabled again) starts a background scan that
 *   replicates everything the policy covers (answered as `scan: { id }`);
 * - staying enabled while its source, destination or filters change scans again, so that what it
 *   now covers is replicated too;
 * - becoming disabled (or being deleted) cancels its queued jobs and asks its running ones to
 *   stop (answered as `cancelled: { queued, running }`).
 */

export const PLURALS = { registry: 'registries', source: 'sources', policy: 'policies' } as const;
export type Outcome = 'created' | 'updated' | 'unchanged';

interface Kind<K extends ConfigKind> {
  list(ports: ApiPorts): Promise<ConfigItems[K][]>;
  get(ports: ApiPorts, name: string): Promise<ConfigItems[K] | undefined>;
  put(ports: ApiPorts, value: ConfigItems[K]): Promise<ConfigItems[K]>;
  delete(ports: ApiPorts, name: string): Promise<boolean>;
  redact(item: ConfigItems[K]): ConfigItems[K];
  /** Puts back the stored secrets a body may keep (`REDACTED`), with issues for those it may not. */
  restore(body: unknown, stored: ConfigItems[K] | undefined): Restored;
}

const KINDS: { [K in ConfigKind]: Kind<K> } = {
  registry: {
    list: (p) => p.config.listRegistries(),
    get: (p, name) => p.config.getRegistry(name),
    put: (p, value) => p.config.putRegistry(value),
    delete: (p, name) => p.config.deleteRegistry(name),
    redact: redactRegistry,
    restore: restoreRegistrySecrets,
  },
  source: {
    list: (p) => p.config.listSources(),
    get: (p, name) => p.config.getSource(name),
    put: (p, value) => p.config.putSource(value),
    delete: (p, name) => p.config.deleteSource(name),
    redact: redactSource,
    restore: restoreSourceSecrets,
  },
  policy: {
    list: (p) => p.config.listPolicies(),
    get: (p, name) => p.config.getPolicy(name),
    put: (p, value) => p.config.putPolicy(value),
    delete: (p, name) => p.config.deletePolicy(name),
    redact: (policy) => policy,
    restore: (body) => ({ body, issues: [] }),
  },
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export async function listItems(ports: ApiPorts, kind: ConfigKind): Promise<ApiResponse> {
  const spec = KINDS[kind] as Kind<ConfigKind>;
  const items = await spec.list(ports);
  items.sort((a, b) => a.name.localeCompare(b.name));
  return { statusCode: 200, body: { [PLURALS[kind]]: items.map((item) => spec.redact(item)) } };
}

async function mustGet<K extends ConfigKind>(
  ports: ApiPorts,
  kind: K,
  name: string,
): Promise<ConfigItems[K]> {
  const item = await KINDS[kind].get(ports, name);
  if (!item) throw new ApiNotFoundError(`no ${kind} named "${name}"`);
  return item;
}

export async function getItem(ports: ApiPorts, kind: ConfigKind, name: string): Promise<ApiResponse> {
  const spec = KINDS[kind] as Kind<ConfigKind>;
  const item = await mustGet(ports, kind, name);
  return { statusCode: 200, body: { [kind]: spec.redact(item) } };
}

/**
 * POST (`name` undefined: the body names the item; a name taken → 409) or PUT (`name` from the
 * path: the body's name, when given, must be the same).
 */
export async function writeItem(
  ports: ApiPorts,
  kind: ConfigKind,
  body: unknown,
  name?: string,
): Promise<ApiResponse> {
  const spec = KINDS[kind] as Kind<ConfigKind>;
  const issues: Issue[] = [];
  let input = body;
  if (name !== undefined && isObject(body)) {
    if (body.name === undefined) input = { ...body, name };
    else if (body.name !== name)
      issues.push({ path: 'name', message: `must be "${name}", the name in the path (or left out)` });
  }
  const itemName = isObject(input) && typeof input.name === 'string' ? input.name : undefined;
  const before = itemName === undefined ? undefined : await spec.get(ports, itemName);
  if (name === undefined && before !== undefined) {
    throw new ApiConflictError(
      `${kind} "${itemName}" exists already: PUT /api/${PLURALS[kind]}/${itemName} replaces it`,
    );
  }
  const restored = spec.restore(input, before);
  input = restored.body;
  issues.push(...restored.issues);
  const registries = kind === 'registry' ? [] : await ports.config.listRegistries();
  const value = validateItem(kind, input, registries, issues);

  const outcome: Outcome =
    before === undefined ? 'created' : isDeepStrictEqual(before, value) ? 'unchanged' : 'updated';
  const response: Record<string, unknown> = { outcome };
  let stored = before ?? value;
  if (outcome !== 'unchanged') {
    stored = await spec.put(ports, value);
    if (kind === 'policy') {
      Object.assign(
        response,
        await policyTransition(ports, before as PolicyConfig | undefined, stored as PolicyConfig),
      );
    }
  }
  response[kind] = spec.redact(stored);
  return {
    statusCode: outcome === 'created' ? 201 : 200,
    ...(outcome === 'created' ? { headers: { location: `/api/${PLURALS[kind]}/${stored.name}` } } : {}),
    body: response,
  };
}

/** What changing a policy from `before` to `after` sets off; on a failure to start a scan, `before` is put back. */
async function policyTransition(
  ports: ApiPorts,
  before: PolicyConfig | undefined,
  after: PolicyConfig,
): Promise<{ scan?: { id: string }; cancelled?: PolicyCancellation }> {
  if (after.enabled) {
    const coverageChanged =
      before !== undefined &&
      !isDeepStrictEqual(
        [before.source, before.destination, before.filters],
        [after.source, after.destination, after.filters],
      );
    if (before?.enabled && !coverageChanged) return {};
    try {
      return { scan: await startScan(ports, after.name) };
    } catch (error) {
      if (before === undefined) await ports.config.deletePolicy(after.name);
      else await ports.config.putPolicy(before);
      throw error;
    }
  }
  if (before?.enabled) return { cancelled: await cancelJobs(ports, after.name) };
  return {};
}

/**
 * A request cancels a policy's jobs for at most CANCEL_BUDGET_MS and leaves the rest to a
 * background run (a policy with thousands of queued jobs answers at once, not after minutes).
 */
export const CANCEL_BUDGET_MS = 3_000;

async function cancelJobs(ports: ApiPorts, policy: string): Promise<PolicyCancellation> {
  const budgetMs = ports.cancelBudgetMs ?? CANCEL_BUDGET_MS;
  const cancelled = await cancelPolicyJobs(ports.jobs, policy, { budgetMs });
  if (cancelled.pending) await ports.startScan({ policy, scanId: newJobId(ports.now()), kind: 'cancel' });
  return cancelled;
}

async function startScan(ports: ApiPorts, policy: string): Promise<{ id: string }> {
  const scanId = newJobId(ports.now());
  await ports.startScan({ policy, scanId });
  return { id: scanId };
}

function usersOfRegistry(name: string, sources: SourceConfig[], policies: PolicyConfig[]): string[] {
  return [
    ...sources.filter((s) => s.registry === name).map((s) => `source ${s.name}`),
    ...policies
      .filter((p) => p.source.registry === name || p.destination.registry === name)
      .map((p) => `policy ${p.name}`),
  ];
}

export async function deleteItem(ports: ApiPorts, kind: ConfigKind, name: string): Promise<ApiResponse> {
  const spec = KINDS[kind] as Kind<ConfigKind>;
  const item = await mustGet(ports, kind, name);
  const body: Record<string, unknown> = { deleted: name };
  if (kind === 'registry') {
    const [sources, policies] = await Promise.all([ports.config.listSources(), ports.config.listPolicies()]);
    const users = usersOfRegistry(name, sources, policies);
    if (users.length > 0) {
      throw new ApiConflictError(
        `registry "${name}" is used by ${users.join(', ')}: change or delete them first`,
      );
    }
  }
  if (kind === 'policy') {
    // Disabled first, so that neither the dispatcher nor a scan starts anything of it meanwhile.
    if ((item as PolicyConfig).enabled) await ports.config.setPolicyEnabled(name, false);
    body.cancelled = await cancelJobs(ports, name);
  }
  if (!(await spec.delete(ports, name))) throw new ApiNotFoundError(`no ${kind} named "${name}"`);
  return { statusCode: 200, body };
}

/** `POST /api/policies/{name}/enable`: 202 with the scan started; 200 when it was enabled already. */
export async function enablePolicy(ports: ApiPorts, name: string): Promise<ApiResponse> {
  const before = await mustGet(ports, 'policy', name);
  if (before.enabled) return { statusCode: 200, body: { policy: before, outcome: 'unchanged' } };
  const policy = await ports.config.setPolicyEnabled(name, true);
  try {
    const scan = await startScan(ports, name);
    return { statusCode: 202, body: { policy, outcome: 'updated', scan } };
  } catch (error) {
    await ports.config.setPolicyEnabled(name, false);
    throw error;
  }
}

/**
 * `POST /api/policies/{name}/disable`: its queued jobs are cancelled before the answer; running
 * ones are asked to stop (202 while any are, or while the rest is cancelled in the background
 * — `cancelled.pending` — else 200). Disabling a disabled policy cancels
 * whatever of it is still queued or running.
 */
export async function disablePolicy(ports: ApiPorts, name: string): Promise<ApiResponse> {
  const before = await mustGet(ports, 'policy', name);
  const policy = before.enabled ? await ports.config.setPolicyEnabled(name, false) : before;
  const cancelled = await cancelJobs(ports, name);
  return {
    statusCode: cancelled.running > 0 || cancelled.pending ? 202 : 200,
    body: { policy, outcome: before.enabled ? 'updated' : 'unchanged', cancelled },
  };
}
