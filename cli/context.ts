import { DEFAULT_READ_IDLE_TIMEOUT_SECONDS } from '#config/defaults.ts';
import type { Credentials } from '#registry/auth.ts';
import { RegistryClient } from '#registry/client.ts';
import { endpointForDomain } from '#registry/endpoints.ts';
import type { RegistryEndpoint } from '#registry/transport.ts';
import type { CliIo } from './io.ts';
import { createProgressReporter, type ProgressReporter } from './progress.ts';
import { RunSummary } from './run-summary.ts';

/** What a command needs from the outside world; tests give their own streams and env. */

/** One client per registry for the whole run: they share pools and token caches. */
export class ClientPool {
  readonly #clients = new Map<string, RegistryClient>();

  forEndpoint(endpoint: RegistryEndpoint): RegistryClient {
    const key = JSON.stringify([
      endpoint.url,
      endpoint.credentials?.username,
      endpoint.insecure,
      endpoint.ca,
      endpoint.allowLinkLocal,
    ]);
    let client = this.#clients.get(key);
    if (!client) {
      client = new RegistryClient(endpoint);
      this.#clients.set(key, client);
    }
    return client;
  }

  forDomain(
    domain: string,
    options: { credentials?: Credentials | undefined; insecure?: boolean; env: NodeJS.ProcessEnv },
  ) {
    return this.forEndpoint(
      endpointForDomain(domain, { ...options, readIdleTimeoutSeconds: DEFAULT_READ_IDLE_TIMEOUT_SECONDS }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
  }
}

/** Aborts on the first Ctrl-C so copies stop between chunks; a second one exits at once. */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onInterrupt) };
}

export function reporterFor(io: CliIo, quiet: boolean | undefined): ProgressReporter {
  if (quiet) return { event() {}, line() {}, stop() {} };
  return createProgressReporter(io.stderr);
}

export interface Session {
  pool: ClientPool;
  reporter: ProgressReporter;
  summary: RunSummary;
  signal: AbortSignal;
}

/**
 * The frame of a `copy` or `sync` run: shared clients, progress, Ctrl-C, and at the end the
 * summary (failures to stderr, totals to stdout) and the exit code. An error escaping `work` is
 * recorded as a failure of `label`.
 */
export async function runSession(
  io: CliIo,
  options: { quiet?: boolean | undefined; dryRun?: boolean | undefined; label: string },
  work: (session: Session) => Promise<void>,
): Promise<number> {
  const interrupt = interruptSignal();
  const session: Session = {
    pool: new ClientPool(),
    reporter: reporterFor(io, options.quiet),
    summary: new RunSummary(),
    signal: interrupt.signal,
  };
  try {
    await work(session);
  } catch (error) {
    session.summary.fail(options.label, error);
  } finally {
    interrupt.dispose();
    session.reporter.stop();
    await session.pool.close();
  }
  for (const line of session.summary.lines({ dryRun: options.dryRun === true })) {
    (line.startsWith('FAILED') ? io.stderr : io.stdout).write(`${line}\n`);
  }
  return session.summary.exitCode;
}
