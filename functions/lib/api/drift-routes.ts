import { ApiConflictError, ApiNotFoundError, BadRequestError } from './errors.ts';
import type { ApiPorts, ApiResponse } from './ports.ts';

/**
 * A policy's drift and its reconciliation runs (docs/architecture.md, "Drift and
 * reconciliation runs"):
 * - `GET /api/policies/{name}/drift?limit=&maxTags=`: what a run would copy and delete now,
 *   counts and the first `limit` entries of each kind; nothing is changed. Bounded (20 s,
 *   `maxTags` tags compared): a bigger policy answers `partial: { reason }`.
 * - `POST /api/policies/{name}/sync`: a run now, in the background (202 with its id); 409 while
 *   another run of the policy is going, or when the policy is disabled.
 * - `GET /api/policies/{name}/runs?limit=`: its runs, newest first, with what each found.
 */

async function mustGetPolicy(ports: ApiPorts, name: string) {
  const policy = await ports.config.getPolicy(name);
  if (!policy) throw new ApiNotFoundError(`no policy named "${name}"`);
  return policy;
}

function integer(
  query: Record<string, string | undefined>,
  key: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  const text = query[key];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadRequestError(`${key} must be a whole number from ${min} to ${max}`, [
      { path: key, message: `must be a whole number from ${min} to ${max}` },
    ]);
  }
  return value;
}

export async function policyDrift(
  ports: ApiPorts,
  name: string,
  query: Record<string, string | undefined>,
): Promise<ApiResponse> {
  const policy = await mustGetPolicy(ports, name);
  const limit = integer(query, 'limit', { min: 0, max: 1000, fallback: 20 });
  const maxTags = integer(query, 'maxTags', { min: 1, max: 100_000, fallback: 10_000 });
  const drift = await ports.drift.check(policy, { limit, maxTags });
  return { statusCode: 200, body: { drift } };
}

export async function syncPolicyNow(ports: ApiPorts, name: string): Promise<ApiResponse> {
  const policy = await mustGetPolicy(ports, name);
  if (!policy.enabled) {
    throw new ApiConflictError(`policy "${name}" is disabled: enable it to sync it`);
  }
  const started = await ports.drift.startSync(name);
  if ('running' in started) {
    throw new ApiConflictError(
      `policy "${name}" has a run going${started.running ? ` (${started.running})` : ''}: see GET /api/policies/${name}/runs`,
    );
  }
  return {
    statusCode: 202,
    headers: { location: `/api/policies/${name}/runs` },
    body: { run: { id: started.runId, policy: name, trigger: 'manual' } },
  };
}

export async function policyRuns(
  ports: ApiPorts,
  name: string,
  query: Record<string, string | undefined>,
): Promise<ApiResponse> {
  await mustGetPolicy(ports, name);
  const limit = integer(query, 'limit', { min: 1, max: 100, fallback: 20 });
  return { statusCode: 200, body: { runs: await ports.drift.runs(name, limit) } };
}
