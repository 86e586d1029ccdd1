import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '#config/load.ts';
import type { CrossdockConfig } from '#config/schema.ts';
import type { ServeOptions, StartOptions } from './commands.ts';
import type { CliIo } from './context.ts';

/**
 * `crossdock serve --config FILE`: the local runtime until Ctrl-C (or SIGTERM). `crossdock
 * start` (what `npm start` runs): serve `crossdock.yaml` when there is one, else the demo.
 */

const DEFAULT_CONFIG = 'crossdock.yaml';

export async function runServe(options: ServeOptions, io: CliIo): Promise<number> {
  const config = await loadConfig(options.config, io.env);
  return serveUntilStopped(config, options, io);
}

export async function runStart(options: StartOptions, io: CliIo): Promise<number> {
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
  const runtime = await startRuntime({ config, stateDir: resolve(options.stateDir), port: options.port });
  let cleanup: (() => Promise<void>) | undefined;
  try {
    cleanup = await started?.(runtime.url);
  } catch (error) {
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
  await cleanup?.();
  await runtime.stop();
  return 0;
}
