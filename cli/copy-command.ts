import { parseCredentials } from '#registry/docker-config.ts';
import { RegistryUnauthorizedError } from '#registry/errors.ts';
import { formatReference, type ImageReference, parseReference } from '#registry/reference.ts';
import { replicateTag } from '#replication/replicate-tag.ts';
import { runBlobs } from './blob-cache.ts';
import type { CopyOptions } from './commands.ts';
import { runSession } from './context.ts';
import { UsageError } from './errors.ts';
import { shortDigest } from './format.ts';
import type { CliIo } from './io.ts';
import { describeError } from './run-summary.ts';

function credentialsOption(text: string | undefined, flag: string) {
  if (text === undefined) return undefined;
  const credentials = parseCredentials(text);
  if (!credentials) throw new UsageError(`${flag} must be USER:PASSWORD`);
  return credentials;
}

/** The destination names the tag; without one it takes the source's tag (or digest). */
function destinationReference(source: ImageReference, text: string): ImageReference {
  const destination = parseReference(text, { defaultTag: false });
  if (destination.tag === undefined && destination.digest === undefined) {
    if (source.tag !== undefined) destination.tag = source.tag;
    else if (source.digest !== undefined) destination.digest = source.digest;
  }
  return destination;
}

/** `crossdock copy SRC DST`: one image with all its platforms and referrers. */
export async function runCopy(src: string, dst: string, options: CopyOptions, io: CliIo): Promise<number> {
  let source: ImageReference;
  let destination: ImageReference;
  let sourceCredentials: ReturnType<typeof credentialsOption>;
  let destinationCredentials: ReturnType<typeof credentialsOption>;
  try {
    source = parseReference(src);
    destination = destinationReference(source, dst);
    sourceCredentials = credentialsOption(options.srcCreds, '--src-creds');
    destinationCredentials = credentialsOption(options.destCreds, '--dest-creds');
  } catch (error) {
    io.stderr.write(`crossdock copy: ${describeError(error)}\n`);
    return 1;
  }

  const label = `${formatReference(source)} → ${formatReference(destination)}`;
  return runSession(
    io,
    { quiet: options.quiet, dryRun: options.dryRun, label },
    async ({ pool, reporter, summary, signal }) => {
      const sourceClient = pool.forDomain(source.domain, {
        credentials: sourceCredentials,
        insecure: options.srcInsecure === true,
        env: io.env,
      });
      const destinationClient = pool.forDomain(destination.domain, {
        credentials: destinationCredentials,
        insecure: options.destInsecure === true,
        env: io.env,
      });
      const blobs = await runBlobs(io.env, options);
      const result = await replicateTag(
        {
          source: { client: sourceClient, repository: source.repository },
          destination: { client: destinationClient, repository: destination.repository },
          reference: source.digest ?? (source.tag as string),
          tag: destination.tag,
        },
        {
          dryRun: options.dryRun === true,
          referrers: options.referrers !== false,
          sharedBlobs: blobs.shared,
          signal,
          ...(options.blobs ? { blobsPerImage: options.blobs } : {}),
          onEvent: (event) => reporter.event(destination.repository, event),
        },
      )
        .catch((error: unknown) => {
          throw withCredentialsHint(error, [
            [sourceClient.host, sourceCredentials, '--src-creds'],
            [destinationClient.host, destinationCredentials, '--dest-creds'],
          ]);
        })
        .finally(() => blobs.save());
      if (destination.digest !== undefined && destination.digest !== result.digest) {
        throw new UsageError(
          `the destination names ${destination.digest} but the source is ${result.digest}`,
        );
      }
      const verb = summary.record(result, options.dryRun === true);
      reporter.line(`${verb}: ${label} (${shortDigest(result.digest)})`);
    },
  );
}

/**
 * A registry that refused a request sent without credentials (none were given for it): the
 * message says which flag gives them (Docker's config.json is the other way).
 */
function withCredentialsHint(error: unknown, sides: [host: string, given: unknown, flag: string][]): unknown {
  if (!(error instanceof RegistryUnauthorizedError) || !error.anonymous) return error;
  const flags = sides
    .filter(([host, given]) => host === error.registry && given === undefined)
    .map(([, , flag]) => flag);
  if (flags.length > 0)
    error.message += `: give ${flags.join(' or ')} USER:PASSWORD, or log in with docker login ${error.registry}`;
  return error;
}
