import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { type CliIo, defaultIo } from './context.ts';

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a positive integer');
  return value;
}

/**
 * Builds the `crossdock` command line. Commands are imported when run, so `copy` does not pay
 * for loading the config parser.
 * Each action stores its exit code; nothing calls process.exit. */
export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('crossdock')
    .description('Replicate container images between registries.')
    .showHelpAfterError()
    // Options after a subcommand belong to it (`jobs show ID --output json`), not to its parent.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  program
    .command('copy')
    .description('copy one image (all platforms and referrers) from SRC to DST')
    .argument('<src>', 'source: host[:port]/repository:tag or @sha256:… (docker:// accepted)')
    .argument('<dst>', 'destination: host[:port]/repository[:tag] (the source tag when none is given)')
    .option('--src-creds <user:password>', 'credentials for the source (else Docker config.json)')
    .option('--dest-creds <user:password>', 'credentials for the destination (else Docker config.json)')
    .option('--src-insecure', 'source over https without certificate checks, or plain http')
    .option('--dest-insecure', 'destination over https without certificate checks, or plain http')
    .option('--blobs <n>', 'blobs copied at once', positiveInteger)
    .option('--no-referrers', 'do not copy signatures, SBOMs and other referrers')
    .option('--dry-run', 'show what would be copied, write nothing')
    .option('-q, --quiet', 'no progress output')
    .action(async (src: string, dst: string, options) => {
      const { runCopy } = await import('./copy-command.ts');
      setExitCode(await runCopy(src, dst, options, io));
    });

  program
    .command('sync')
    .description("replicate once everything the config's enabled policies cover")
    .requiredOption('-c, --config <file>', 'crossdock.yaml')
    .option('--policy <name...>', 'only these policies')
    .option('--jobs <n>', 'tags copied at once (default: limits.runningJobs)', positiveInteger)
    .option('--no-referrers', 'do not copy signatures, SBOMs and other referrers')
    .option('--dry-run', 'show what would be copied, write nothing')
    .option('-q, --quiet', 'no progress output')
    .action(async (options) => {
      const { runSync } = await import('./sync-command.ts');
      setExitCode(await runSync(options, io));
    });

  const port = (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 65535)
      throw new InvalidArgumentError('must be a port number');
    return value;
  };
  program
    .command('serve')
    .description('run crossdock on this machine: webhooks, API, queue, workflow, records (127.0.0.1)')
    .requiredOption('-c, --config <file>', 'crossdock.yaml (applied at start)')
    .option('--port <port>', 'where the webhooks and the API listen', port, 8080)
    .option('--state-dir <dir>', 'where the records and the queue are kept', '.crossdock')
    .action(async (options) => {
      const { runServe } = await import('./serve-command.ts');
      setExitCode(await runServe(options, io));
    });
  program
    .command('start')
    .description(
      'what `npm start` runs: serve ./crossdock.yaml, or a demo with two local registries when there is none',
    )
    .option('--port <port>', 'where the webhooks and the API listen', port, 8080)
    .option('--state-dir <dir>', 'where the records and the queue are kept', '.crossdock')
    .action(async (options) => {
      const { runStart } = await import('./serve-command.ts');
      setExitCode(await runStart(options, io));
    });

  // Commands over the management API (cli/api): --api URL and --token on each.
  const api = (command: Command) =>
    command
      .option('--api <url>', 'the crossdock API (env CROSSDOCK_API_URL; default http://127.0.0.1:8080)')
      .option('--token <token>', 'bearer token of the API (env CROSSDOCK_API_TOKEN)');
  const output = (command: Command) => command.option('-o, --output <format>', 'table or json', 'table');

  api(program.command('apply'))
    .description('push the registries, sources and policies of a config file to a running API')
    .requiredOption('-c, --config <file>', 'crossdock.yaml')
    .action(async (options) => {
      const { runApply } = await import('./api/config-commands.ts');
      setExitCode(await runApply(options, io));
    });

  const jobs = output(api(program.command('jobs')))
    .description('the job table, newest first')
    .enablePositionalOptions()
    .option('--policy <name>', 'only this policy')
    .option('--status <status>', 'QUEUED, RUNNING, SUCCEEDED, SKIPPED, FAILED or CANCELLED')
    .option('--repository <repository>', 'only jobs of this source or destination repository')
    .option('--limit <n>', 'at most this many jobs (default 50)', positiveInteger)
    .action(async (options) => {
      const { runJobsList } = await import('./api/jobs-command.ts');
      setExitCode(await runJobsList(options, io));
    });
  output(api(jobs.command('show')))
    .description("one job's record and history")
    .argument('<id>')
    .action(async (id: string, options) => {
      const { runJobShow } = await import('./api/jobs-command.ts');
      setExitCode(await runJobShow(id, options, io));
    });
  api(jobs.command('watch'))
    .description('live progress until the jobs end (default: the queued and running ones)')
    .argument('[ids...]')
    .option('--policy <name>', 'only this policy')
    .option('--limit <n>', 'follow at most this many jobs (default 100)', positiveInteger)
    .option('--interval <ms>', 'between readings (default 1000)', positiveInteger)
    .action(async (ids: string[], options) => {
      const { runJobsWatch } = await import('./api/watch-command.ts');
      setExitCode(await runJobsWatch(ids, options, io));
    });
  for (const [name, description] of [
    ['cancel', 'cancel a queued job; ask a running one to stop'],
    ['retry', 'queue a FAILED or CANCELLED job again as a new attempt'],
  ] as const) {
    api(jobs.command(name))
      .description(description)
      .argument('<id>')
      .action(async (id: string, options) => {
        const commands = await import('./api/jobs-command.ts');
        const run = name === 'cancel' ? commands.runJobCancel : commands.runJobRetry;
        setExitCode(await run(id, options, io));
      });
  }

  const policies = program.command('policies').description('list, enable and disable policies');
  output(api(policies.command('list')))
    .description('the policies the API holds')
    .action(async (options) => {
      const { runPoliciesList } = await import('./api/config-commands.ts');
      setExitCode(await runPoliciesList(options, io));
    });
  for (const [name, description] of [
    ['enable', 'enable a policy: replicates everything it covers, then every push'],
    ['disable', 'disable a policy: cancels its queued and running jobs'],
  ] as const) {
    api(policies.command(name))
      .description(description)
      .argument('<name>')
      .action(async (policy: string, options) => {
        const commands = await import('./api/config-commands.ts');
        const run = name === 'enable' ? commands.runPolicyEnable : commands.runPolicyDisable;
        setExitCode(await run(policy, options, io));
      });
  }
  output(api(program.command('registries').description('registries').command('list')))
    .description('the registries the API holds (secrets redacted)')
    .action(async (options) => {
      const { runRegistriesList } = await import('./api/config-commands.ts');
      setExitCode(await runRegistriesList(options, io));
    });

  return program;
}

/** Runs the CLI and returns the exit code: 0 when everything worked, 1 when anything failed. */
export async function runCli(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    io.stderr.write(`crossdock: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return exitCode;
}
