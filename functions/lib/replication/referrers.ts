import { referrersTag } from '#registry/listing.ts';
import type { Descriptor } from '#registry/manifests.ts';
import { OCI_INDEX } from '#registry/media-types.ts';
import type { ReplicateInput, ReplicateResult, ReplicationOptions } from './types.ts';

export interface ReferrersResult {
  /** Referrers the destination did not have and now does. */
  copied: number;
  results: ReplicateResult[];
}

/**
 * Copies the OCI referrers (signatures, SBOMs, attestations) of `subject`, each by digest, and —
 * where the destination has no referrers API — keeps its `sha256-<hex>` fallback tag listing
 * them, as an OCI 1.1 client would.
 */
export async function replicateReferrers(
  input: ReplicateInput,
  subject: string,
  options: ReplicationOptions,
  replicate: (referrer: ReplicateInput) => Promise<ReplicateResult>,
): Promise<ReferrersResult> {
  const { source, destination } = input;
  const found = await source.client.listing.referrers(source.repository, subject, options.signal, {
    tags: options.sourceTags,
  });
  if (found.descriptors.length === 0) return { copied: 0, results: [] };

  const results: ReplicateResult[] = [];
  for (const referrer of found.descriptors) {
    results.push(await replicate({ source, destination, reference: referrer.digest }));
  }
  const copied = results.filter((r) => r.outcome === 'copied').length;
  if (options.dryRun) return { copied, results };

  const existing = await destination.client.listing.referrers(
    destination.repository,
    subject,
    options.signal,
  );
  if (existing.via === 'api') return { copied, results };
  const listed = new Set(existing.descriptors.map((d) => d.digest));
  const missing = found.descriptors.filter((d) => !listed.has(d.digest));
  if (missing.length === 0) return { copied, results };

  const tag = referrersTag(subject);
  if (existing.descriptors.length === 0 && found.via === 'tag') {
    // Same list as the source's fallback tag: push its exact bytes, so both tags have one digest.
    const index = await source.client.manifests.get(source.repository, tag, options.signal);
    await destination.client.manifests.put(destination.repository, tag, index, options.signal);
  } else {
    const manifests: Descriptor[] = [...existing.descriptors, ...missing];
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    await destination.client.manifests.put(
      destination.repository,
      tag,
      { mediaType: OCI_INDEX, bytes },
      options.signal,
    );
  }
  return { copied, results };
}
