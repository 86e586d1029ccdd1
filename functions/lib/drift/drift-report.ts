import type { PolicyConfig } from '#config/schema.ts';
import type { RegistryClient } from '#registry/client.ts';
import { DriftBudgetSpentError } from './errors.ts';
import { comparePolicy, type DriftCounts, type DriftEntry, emptyCounts } from './policy-drift.ts';

/**
 * `policies check NAME` (`GET /api/policies/{name}/drift`): the drift of a policy, read and
 * never repaired — counts, and the first `limit` entries of each kind — within a budget, so
 * that a very large policy still answers inside the API's 30 s: the comparison stops after
 * `budgetMs` or `maxTags` tags compared, and the answer says it is partial and why.
 */

export interface DriftReport {
  policy: string;
  counts: DriftCounts;
  /** What a sync would do now: tags it would copy, tags it would delete (with the policy's settings). */
  wouldCopy: number;
  wouldDelete: number;
  /** The first entries of each kind, in the order found. */
  missing: DriftEntry[];
  moved: DriftEntry[];
  extra: DriftEntry[];
  /** Set when the budget ran out before the comparison ended: the figures are a lower bound. */
  partial?: { reason: string } | undefined;
  durationMs: number;
}

export interface DriftCheckOptions {
  /** Entries listed per kind (default 20). */
  limit?: number;
  /** Stop after this long (default 20 s: the API answers within 30 s). */
  budgetMs?: number;
  /** Stop after this many tags compared (default 10,000). */
  maxTags?: number;
  concurrency?: number;
  now?: () => number;
}

export const DRIFT_CHECK_DEFAULTS = { limit: 20, budgetMs: 20_000, maxTags: 10_000 } as const;

export async function checkDrift(
  source: RegistryClient,
  destination: RegistryClient,
  policy: PolicyConfig,
  options: DriftCheckOptions = {},
): Promise<DriftReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const limit = options.limit ?? DRIFT_CHECK_DEFAULTS.limit;
  const budgetMs = options.budgetMs ?? DRIFT_CHECK_DEFAULTS.budgetMs;
  const maxTags = options.maxTags ?? DRIFT_CHECK_DEFAULTS.maxTags;
  const counts = emptyCounts();
  const found: Record<DriftEntry['kind'], DriftEntry[]> = { missing: [], moved: [], extra: [] };
  const controller = new AbortController();
  const spend = (reason: string) => {
    if (!controller.signal.aborted) controller.abort(new DriftBudgetSpentError(reason));
  };
  const timer = setTimeout(() => spend(`stopped after ${budgetMs} ms`), budgetMs);
  let partial: { reason: string } | undefined;
  try {
    await comparePolicy(source, destination, policy, {
      counts,
      signal: controller.signal,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      onCompared: () => {
        if (counts.tagsCompared >= maxTags) spend(`stopped after ${maxTags} tags compared`);
      },
      onDrift: async (entry) => {
        const list = found[entry.kind];
        if (list.length < limit) list.push(entry);
      },
    });
    if (controller.signal.aborted) throw controller.signal.reason;
  } catch (error) {
    const reason = controller.signal.reason;
    if (!(reason instanceof DriftBudgetSpentError)) throw error;
    partial = { reason: reason.message };
  } finally {
    clearTimeout(timer);
  }
  return {
    policy: policy.name,
    counts,
    wouldCopy: counts.missing + (policy.override ? counts.moved : 0),
    wouldDelete: policy.replicateDeletes ? counts.extra : 0,
    ...found,
    ...(partial ? { partial } : {}),
    durationMs: now() - started,
  };
}
