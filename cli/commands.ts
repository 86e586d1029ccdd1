import { type Command, InvalidArgumentError, type OptionValues } from '@commander-js/extra-typings';

/**
 * The commands' arguments and options, each applied to the command `program.ts` creates (so it
 * inherits the program's output and exit settings). The option types the commands' run
 * functions take are derived from these definitions (`OptionsOf`), never written by hand.
 */

// biome-ignore lint/suspicious/noExplicitAny: any command, whatever its arguments and options.
type AnyCommand = Command<any, any, any>;
// biome-ignore lint/complexity/noBannedTypes: commander's own type of "no options yet".
type NoOptions = {};
/** The parsed options of the command a definition makes of a fresh command. */
type OptionsOf<Define extends (command: Command<[], NoOptions, NoOptions>) => AnyCommand> = ReturnType<
  ReturnType<Define>['opts']
>;

export function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a positive integer');
  return value;
}

function port(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new InvalidArgumentError('must be a port number');
  return value;
}

export const copyCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  command
    .description('copy one image (all platforms and referrers) from SRC to DST')
    .argument('<src>', 'source: host[:port]/repository:tag or @sha256:… (docker:// accepted)')
    .argument('<dst>', 'destination: host[:port]/repository[:tag] (the source tag when none is given)')
    .option('--src-creds <user:password>', 'credentials for the source (else Docker config.json)')
    .option('--dest-creds <user:password>', 'credentials for the destination (else Docker config.json)')
    .option('--src-insecure', 'source over https without certificate checks, or plain http')
    .option('--dest-insecure', 'destination over https without certificate checks, or plain http')
    .option('--blobs <n>', 'blobs copied at once', positiveInteger)
    .option('--no-referrers', 'do not copy signatures, SBOMs and other referrers')
    .option('--no-cache', 'neither read nor write the blob-location cache (~/.cache/crossdock)')
    .option('--dry-run', 'show what would be copied, write nothing')
    .option('-q, --quiet', 'no progress output');
export type CopyOptions = OptionsOf<typeof copyCommand<[], NoOptions, NoOptions>>;

export const syncCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  command
    .description("replicate once everything the config's enabled policies cover")
    .requiredOption('-c, --config <file>', 'crossdock.yaml')
    .option('--policy <name...>', 'only these policies')
    .option('--jobs <n>', 'tags copied at once (default: limits.runningJobs)', positiveInteger)
    .option('--no-referrers', 'do not copy signatures, SBOMs and other referrers')
    .option('--no-cache', 'neither read nor write the blob-location cache (~/.cache/crossdock)')
    .option('--dry-run', 'show what would be copied, write nothing')
    .option('-q, --quiet', 'no progress output');
export type SyncOptions = OptionsOf<typeof syncCommand<[], NoOptions, NoOptions>>;

/** Where `serve` and `start` listen and keep their state. */
const local = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  command
    .option('--port <port>', 'where the webhooks and the API listen', port, 8080)
    .option(
      '--host <address>',
      'the address to listen on; off loopback it needs --tls-cert/--tls-key or --insecure-http',
      '127.0.0.1',
    )
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (and --tls-key)')
    .option('--tls-key <file>', 'the PEM key of --tls-cert')
    .option('--insecure-http', 'serve plain HTTP off loopback (the API token crosses the network readable)')
    .option(
      '--state-dir <dir>',
      'where the records, the queue and the generated API token are kept',
      '.crossdock',
    );

export const serveCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  local(
    command
      .description(
        'run crossdock on this machine: webhooks, API, queue, workflow, records (127.0.0.1 unless --host)',
      )
      .requiredOption('-c, --config <file>', 'crossdock.yaml (applied at start)'),
  );
export type ServeOptions = OptionsOf<typeof serveCommand<[], NoOptions, NoOptions>>;

export const startCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  local(
    command.description(
      'what `npm start` runs: serve ./crossdock.yaml, or a demo with two local registries when there is none',
    ),
  );
export type StartOptions = OptionsOf<typeof startCommand<[], NoOptions, NoOptions>>;

/** Commands over the management API (cli/api): --api URL and the token on each. */
export const apiCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  command
    .option('--api <url>', 'the crossdock API (env CROSSDOCK_API_URL; default http://127.0.0.1:8080)')
    .option(
      '--token <token>',
      'bearer token of the API (env CROSSDOCK_API_TOKEN; else the api-token file serve made in --state-dir)',
    )
    .option('--state-dir <dir>', 'where a local serve keeps its generated api-token (default ./.crossdock)');
export type ApiConnectionOptions = OptionsOf<typeof apiCommand<[], NoOptions, NoOptions>>;

/** API commands that print a table or JSON. */
export const listingCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) => apiCommand(command).option('-o, --output <format>', 'table or json', 'table');
export type ListingOptions = OptionsOf<typeof listingCommand<[], NoOptions, NoOptions>>;

export const applyCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  apiCommand(command)
    .description('push the registries, sources and policies of a config file to a running API')
    .requiredOption('-c, --config <file>', 'crossdock.yaml');
export type ApplyOptions = OptionsOf<typeof applyCommand<[], NoOptions, NoOptions>>;

export const jobsCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  listingCommand(command)
    .description('the job table, newest first')
    .enablePositionalOptions()
    .option('--policy <name>', 'only this policy')
    .option('--status <status>', 'QUEUED, RUNNING, SUCCEEDED, SKIPPED, FAILED or CANCELLED')
    .option('--repository <repository>', 'only jobs of this source or destination repository')
    .option('--limit <n>', 'at most this many jobs (default 50)', positiveInteger);
export type JobsListOptions = OptionsOf<typeof jobsCommand<[], NoOptions, NoOptions>>;

export const jobsWatchCommand = <A extends unknown[], O extends OptionValues, G extends OptionValues>(
  command: Command<A, O, G>,
) =>
  apiCommand(command)
    .description('live progress until the jobs end (default: the queued and running ones)')
    .argument('[ids...]')
    .option('--policy <name>', 'only this policy')
    .option('--limit <n>', 'follow at most this many jobs (default 100)', positiveInteger)
    .option('--interval <ms>', 'between readings (default 1000)', positiveInteger);
export type WatchOptions = OptionsOf<typeof jobsWatchCommand<[], NoOptions, NoOptions>>;
