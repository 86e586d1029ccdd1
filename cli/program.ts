import { Command, CommanderError } from '@commander-js/extra-typings';
import { keepHeapSmall } from '../functions/lib/runtime/heap-limits.ts';
import packageJson from '../package.json' with { type: 'json' };
import {
  apiCommand,
  applyCommand,
  copyCommand,
  jobsCommand,
  jobsWatchCommand,
  listingCommand,
  serveCommand,
  startCommand,
  syncCommand,
} from './commands.ts';
import { type CliIo, defaultIo } from './io.ts';
import { describeError } from './run-summary.ts';

/**
 * Builds the `crossdock` command line from the definitions in commands.ts. Commands are imported
 * when run, so `copy` does not pay for loading the config parser.
 * Each action stores its exit code; nothing calls process.exit. */
export function buildProgram(io: CliIo, setExitCode: (code: number) => void) {
  const program = new Command('crossdock')
    .description('Replicate container images between registries.')
    .version(packageJson.version, '-V, --version', "print crossdock's version")
    .showHelpAfterError()
    // Options after a subcommand belong to it (`jobs show ID --output json`), not to its parent.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  // Copies keep their memory flat without the shebang's flags too (`node dist/crossdock.js`);
  // serve keeps V8's defaults: its pipeline is CPU-bound JS (heap-limits.ts).
  copyCommand(program.command('copy')).action(async (src, dst, options) => {
    keepHeapSmall();
    const { runCopy } = await import('./copy-command.ts');
    setExitCode(await runCopy(src, dst, options, io));
  });
  syncCommand(program.command('sync')).action(async (options) => {
    keepHeapSmall();
    const { runSync } = await import('./sync-command.ts');
    setExitCode(await runSync(options, io));
  });
  serveCommand(program.command('serve')).action(async (options) => {
    const { runServe } = await import('./serve-command.ts');
    setExitCode(await runServe(options, io));
  });
  startCommand(program.command('start')).action(async (options) => {
    const { runStart } = await import('./serve-command.ts');
    setExitCode(await runStart(options, io));
  });

  // Commands over the management API (cli/api).
  applyCommand(program.command('apply')).action(async (options) => {
    const { runApply } = await import('./api/config-commands.ts');
    setExitCode(await runApply(options, io));
  });

  const jobs = jobsCommand(program.command('jobs')).action(async (options) => {
    const { runJobsList } = await import('./api/jobs-command.ts');
    setExitCode(await runJobsList(options, io));
  });
  listingCommand(jobs.command('show'))
    .description("one job's record and history")
    .argument('<id>')
    .action(async (id, options) => {
      const { runJobShow } = await import('./api/jobs-command.ts');
      setExitCode(await runJobShow(id, options, io));
    });
  jobsWatchCommand(jobs.command('watch')).action(async (ids, options) => {
    const { runJobsWatch } = await import('./api/watch-command.ts');
    setExitCode(await runJobsWatch(ids, options, io));
  });
  for (const [name, description] of [
    ['cancel', 'cancel a queued job; ask a running one to stop'],
    ['retry', 'queue a FAILED or CANCELLED job again as a new attempt'],
  ] as const) {
    apiCommand(jobs.command(name))
      .description(description)
      .argument('<id>')
      .action(async (id, options) => {
        const commands = await import('./api/jobs-command.ts');
        const run = name === 'cancel' ? commands.runJobCancel : commands.runJobRetry;
        setExitCode(await run(id, options, io));
      });
  }

  const policies = program.command('policies').description('list, enable, disable, check and sync policies');
  listingCommand(policies.command('list'))
    .description('the policies the API holds')
    .action(async (options) => {
      const { runPoliciesList } = await import('./api/config-commands.ts');
      setExitCode(await runPoliciesList(options, io));
    });
  for (const [name, description] of [
    ['enable', 'enable a policy: replicates everything it covers, then every push'],
    ['disable', 'disable a policy: cancels its queued and running jobs'],
  ] as const) {
    apiCommand(policies.command(name))
      .description(description)
      .argument('<name>')
      .action(async (policy, options) => {
        const commands = await import('./api/config-commands.ts');
        const run = name === 'enable' ? commands.runPolicyEnable : commands.runPolicyDisable;
        setExitCode(await run(policy, options, io));
      });
  }
  listingCommand(policies.command('check'))
    .description('show what a sync would copy and delete now (the drift); changes nothing')
    .argument('<name>')
    .option('--limit <n>', 'entries shown per kind (missing, moved, extra)', '20')
    .action(async (policy, options) => {
      const { runPolicyCheck } = await import('./api/drift-commands.ts');
      setExitCode(await runPolicyCheck(policy, options, io));
    });
  apiCommand(policies.command('sync'))
    .description(
      'compare source and destination now and copy or delete only what differs (in the background)',
    )
    .argument('<name>')
    .action(async (policy, options) => {
      const { runPolicySync } = await import('./api/drift-commands.ts');
      setExitCode(await runPolicySync(policy, options, io));
    });
  listingCommand(policies.command('runs'))
    .description("a policy's reconciliation runs, newest first: trigger, drift found, jobs")
    .argument('<name>')
    .action(async (policy, options) => {
      const { runPolicyRuns } = await import('./api/drift-commands.ts');
      setExitCode(await runPolicyRuns(policy, options, io));
    });
  listingCommand(program.command('registries').description('registries').command('list'))
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
    io.stderr.write(`crossdock: ${describeError(error)}\n`);
    return 1;
  }
  return exitCode;
}
