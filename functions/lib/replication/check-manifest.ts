import type { RegistryClient } from '#registry/client.ts';
import { DestinationTagConflictError } from './errors.ts';

export interface ManifestCheck {
  /** The destination already has this digest under this reference: nothing to push. */
  present: boolean;
  /** What the destination's tag points at now, if it exists. */
  destinationDigest?: string;
}

/**
 * CheckManifest: does the destination already hold `digest` under `reference` (a tag or the
 * digest itself)? A present manifest is never pushed again — this is what ends replication
 * cycles (A→B→A): the way back finds the digest and stops.
 */
export async function checkManifest(
  destination: RegistryClient,
  repository: string,
  reference: string,
  digest: string,
  options: {
    override?: boolean;
    signal?: AbortSignal;
    /** The destination's HEAD of `reference`, when the caller started it already (with the source's GET). */
    found?: ReturnType<RegistryClient['manifests']['head']>;
  } = {},
): Promise<ManifestCheck> {
  const found = await (options.found ?? destination.manifests.head(repository, reference, options.signal));
  if (!found) return { present: false };
  if (found.digest === digest) return { present: true, destinationDigest: found.digest };
  if (options.override === false) {
    throw new DestinationTagConflictError(
      `${destination.name}/${repository}:${reference} points at ${found.digest}, not ${digest}, and the policy does not override`,
    );
  }
  return { present: false, destinationDigest: found.digest };
}
