import { isDue, parseSchedule } from '#config/schedule.ts';
import type { PolicyConfig } from '#config/schema.ts';

/**
 * The one scheduled trigger of reconciliation runs (docs/architecture.md, "Drift and
 * reconciliation runs"): on every tick — an EventBridge rule each minute when deployed, a timer
 * in `serve` — each enabled policy with a `schedule` is looked at (one read of its run state)
 * and, when due, its run is claimed and started in the background. The claim is conditional on
 * the last start the due check read and on no run going, so a run still going when the next is
 * due is not started twice, nor by two ticks at once. Policies are read from the records on
 * every tick: a schedule changed through the API counts from the next tick, without a deploy.
 */

export interface DueRunPorts {
  policies(): Promise<PolicyConfig[]>;
  /** When the policy's last run started (ISO 8601); undefined when it never ran. */
  lastStartedAt(policy: string): Promise<string | undefined>;
  /**
   * Claims a scheduled run (only while `lastStartedAt` is still the last start: null for never)
   * and starts it in the background; false when another run is going or won the claim.
   */
  start(policy: string, lastStartedAt: string | null): Promise<boolean>;
  now(): number;
}

export interface DueRunsResult {
  /** Policies with a schedule, enabled. */
  scheduled: number;
  started: string[];
  /** Due, but a run of theirs is still going (or another tick started it). */
  busy: string[];
}

export async function startDueRuns(
  ports: DueRunPorts,
  options: { slackMs?: number } = {},
): Promise<DueRunsResult> {
  const result: DueRunsResult = { scheduled: 0, started: [], busy: [] };
  const now = ports.now();
  for (const policy of await ports.policies()) {
    if (!policy.enabled || policy.schedule === undefined) continue;
    result.scheduled++;
    const last = await ports.lastStartedAt(policy.name);
    const lastMs = last === undefined ? undefined : Date.parse(last);
    if (!isDue(parseSchedule(policy.schedule), lastMs, now, options.slackMs ?? 0)) continue;
    if (await ports.start(policy.name, last ?? null)) result.started.push(policy.name);
    else result.busy.push(policy.name);
  }
  return result;
}
