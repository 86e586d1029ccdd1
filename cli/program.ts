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
