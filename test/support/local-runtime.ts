import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from '#config/schema.ts';
import { isTerminal, type Job } from '../../functions/lib/jobs/job.ts';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../infra/local/runtime.ts';
import { type MirrorOptions, mirrorConfig } from './mirror.ts';
import { freePort } from './ports.ts';
import { startRegistry, type TestRegistry } from './registry-process.ts';
import { webhookOf } from './serve-config.ts';
import { scratchDir } from './tools.ts';

/**
 * The local runtime in this test's own process (what `crossdock serve` runs), with registry A
 * whose notifications call it and registry B (or a proxy before B): for the tests that shrink
 * AWS's limits or inject faults through `RuntimeOptions`, and read its functions' counts.
 */
export interface LocalMirror {
  a: TestRegistry;
  b: TestRegistry;
  runtime: Runtime;
  /** Where A's notifications go. */
  webhookUrl: string;
  /** The policy's jobs, oldest first. */
  jobs(policy?: string): Promise<Job[]>;
  /**
   * The policy a-to-b's jobs once at least `count` exist and no job of the runtime is QUEUED or
   * RUNNING; fails with their states after `timeoutMs`.
   */
  settled(count: number, timeoutMs: number): Promise<Job[]>;
  stop(): Promise<void>;
}

export async function startLocalMirror(
  options: MirrorOptions & {
    runtime?: Omit<RuntimeOptions, 'config' | 'stateDir' | 'port'>;
    /** False: A sends no notifications (the test posts them, as A). */
    notifications?: boolean;
    /** B's URL as crossdock reaches it (a proxy before B), made once B runs. */
    destination?: (b: TestRegistry) => Promise<string>;
  } = {},
): Promise<LocalMirror> {
  const port = await freePort();
  const [a, b] = await Promise.all([
    startRegistry(options.notifications === false ? {} : { notifications: webhookOf(port) }),
    startRegistry(),
  ]);
  const bUrl = options.destination ? await options.destination(b) : b.url;
  const config = configSchema.parse(mirrorConfig(a.url, bUrl, options));
  const stateDir = join(mkdtempSync(join(scratchDir(), 'crossdock-runtime-')), 'state');
  const runtime = await startRuntime({ ...options.runtime, config, stateDir, port });
  const jobs = async (policy = 'a-to-b') => {
    const all: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await runtime.app.jobs.listByPolicy(policy, { limit: 100, cursor });
      all.push(...page.jobs);
      cursor = page.cursor;
    } while (cursor);
    return all.reverse();
  };
  return {
    a,
    b,
    runtime,
    webhookUrl: webhookOf(port).url,
    jobs,
    async settled(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let seen: Job[] = [];
      // While any job of the runtime is QUEUED or RUNNING, one of each is all it reads: listing
      // every job with its history five times a second loaded the runtime it watches.
      const unfinished = async () =>
        (
          await Promise.all(
            (['QUEUED', 'RUNNING'] as const).map((status) =>
              runtime.app.jobs.listByStatus(status, { limit: 1 }),
            ),
          )
        ).some((page) => page.jobs.length > 0);
      while (Date.now() < deadline) {
        if (!(await unfinished())) {
          seen = await jobs();
          if (seen.length >= count && seen.every((job) => isTerminal(job.status))) return seen;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      seen = await jobs();
      const states = seen.map(
        (job) => `${job.tag} ${job.status} ${job.substate ?? ''} ${job.error?.message ?? ''}`,
      );
      throw new Error(`jobs did not all end within ${timeoutMs} ms:\n${states.join('\n')}`);
    },
    async stop() {
      await runtime.stop();
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}
