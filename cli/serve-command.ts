import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '#config/load.ts';
import type { CrossdockConfig } from '#config/schema.ts';
import type { ApiToken } from '../infra/local/api-token.ts';
import { checkListenSettings } from '../infra/local/listen.ts';
import type { RegistryCheck } from '../infra/local/startup.ts';
import type { ServeOptions, StartOptions } from './commands.ts';
import type { CliIo } from './io.ts';

/**
 * `crossdock serve --config FILE`: the local runtime until Ctrl-C (or SIGTERM). `crossdock
 * start` (what `npm start` runs): serve `crossdock.yaml` when there is one, else the demo.
 */

const DEFAULT_CONFIG = 'crossdock.yaml';

export async function runServe(options: ServeOptions, io: CliIo): Promise<number> {
  listenSettings(options);
  const config = await loadConfig(options.config, io.env);
  return serveUntilStopped(config, options, io);
}

export async function runStart(options: StartOptions, io: CliIo): Promise<number> {
  listenSettings(options);
  if (existsSync(DEFAULT_CONFIG)) {
    io.stderr.write(`crossdock: serving ${resolve(DEFAULT_CONFIG)}\n`);
    return runServe({ ...options, config: DEFAULT_CONFIG }, io);
  }
  io.stderr.write(`crossdock: no ${DEFAULT_CONFIG} here, so this is the demo (see README: "Try it").\n`);
  const { prepareDemo } = await import('../infra/local/demo/demo.ts');
  const say = (line: string) => io.stderr.write(`${line}\n`);
  const demo = await prepareDemo({ stateDir: resolve(options.stateDir), log: say });
  return serveUntilStopped(demo.config, options, io, async (url) => {
    const { lines } = await demo.attach(url);
    for (const line of lines) say(line);
    return () => demo.stop();
  });
}

async function serveUntilStopped(
  config: CrossdockConfig,
  options: StartOptions,
  io: CliIo,
  started?: (url: string) => Promise<() => Promise<void>>,
): Promise<number> {
  // Locally, CloudWatch metrics (EMF lines) would only crowd the log; set it to 'false' to see them.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { startRuntime } = await import('../infra/local/runtime.ts');
  const runtime = await startRuntime({
    config,
    stateDir: resolve(options.stateDir),
    port: options.port,
    host: options.host,
    tls: listenSettings(options),
    insecureHttp: options.insecureHttp === true,
    ...scheduleTick(process.env.CROSSDOCK_SCHEDULE_TICK_MS),
  });
  for (const line of tokenLines(runtime.apiToken, options.stateDir)) io.stderr.write(`${line}\n`);
  // Not awaited: the lines follow when the registries answer; the runtime serves meanwhile. A
  // stop abandons the checks still waiting for an answer, and says nothing of them.
  const stopping = new AbortController();
  const checked = runtime
    .checkRegistries({
      signal: stopping.signal,
      onCheck: (check) => io.stderr.write(`${registryLine(check)}\n`),
    })
    .catch(() => undefined);
  let cleanup: (() => Promise<void>) | undefined;
  try {
    cleanup = await started?.(runtime.url);
  } catch (error) {
    stopping.abort();
    await runtime.stop();
    throw error;
  }
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  io.stderr.write('crossdock: stopping (running jobs continue at the next start)\n');
  stopping.abort();
  await checked;
  await cleanup?.();
  await runtime.stop();
  return 0;
}

/** Checked before anything starts: the error names the flags. Answers the TLS files, if any. */
function listenSettings(options: StartOptions) {
  return checkListenSettings({
    host: options.host,
    tlsCert: options.tlsCert,
    tlsKey: options.tlsKey,
    insecureHttp: options.insecureHttp,
  });
}

/** A registry's line: it answers (and takes its credentials), or why not. */
function registryLine(check: RegistryCheck): string {
  const which = `registry ${check.name} (${check.url})`;
  if (check.ok) {
    return `crossdock: ${which} answers${check.withCredentials ? ' and takes its credentials' : ' (no credentials given)'}`;
  }
  return `crossdock: ${which} failed its check at start: ${check.problem} — its jobs fail until this is mended (the runtime keeps serving)`;
}

/**
 * How to use the API's token: a generated one is printed at the start that made it, and only
 * then (it is in the state folder, readable by the operator alone); later starts say where it is.
 */
function tokenLines(apiToken: ApiToken, stateDir: string): string[] {
  if (apiToken.origin === 'config') {
    return ["crossdock: the API needs the config's api.token (CLI: --token or CROSSDOCK_API_TOKEN)"];
  }
  const here = resolve(stateDir) === resolve('.crossdock');
  const cli = here
    ? 'the CLI run in this folder reads it from there'
    : `the CLI reads it from there with --state-dir ${stateDir}`;
  if (apiToken.origin === 'file') {
    return [
      `crossdock: the API token is in ${apiToken.file} (${cli}; elsewhere --token or CROSSDOCK_API_TOKEN)`,
    ];
  }
  return [
    `crossdock: the API needs a token; this one was made now and kept in ${apiToken.file} (shown this once):`,
    '',
    `  ${apiToken.token}`,
    '',
    `crossdock: ${cli}; elsewhere pass --token or set CROSSDOCK_API_TOKEN`,
  ];
}

/**
 * CROSSDOCK_SCHEDULE_TICK_MS: how often scheduled policy runs are looked for (default a
 * minute). For tests, which cannot wait a minute for each tick; anything not a positive number
 * is ignored.
 */
function scheduleTick(value: string | undefined): { scheduleTickMs?: number } {
  const ms = Number(value);
  return value !== undefined && Number.isFinite(ms) && ms > 0 ? { scheduleTickMs: ms } : {};
}
