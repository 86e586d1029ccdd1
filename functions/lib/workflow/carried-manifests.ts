import { verifyDigest } from '#registry/digest.ts';
import { parseManifest } from '#registry/manifests.ts';
import type { ManifestCache } from '#replication/types.ts';

/**
 * The manifests FetchManifest read, carried to PushManifest in the execution's state so that
 * PushManifest pushes them without reading the source again: one GET per manifest and job, not
 * two (docs/architecture.md, "Workflow"). Carried as their exact text; PushManifest takes one
 * only when its bytes hash to its digest, and reads any other from the source as before.
 */
export interface CarriedManifest {
  digest: string;
  mediaType: string;
  /** The manifest's bytes, as UTF-8 text (a manifest is JSON). */
  text: string;
}

/**
 * At most this many bytes of manifests are carried: a typical image's manifest is 0.5–2 KB and
 * a multi-platform index with its children 10–30 KB. Step Functions keeps an execution's state
 * under 256 KiB (docs/performance.md, "Step Functions' limits"), which the plan's blobs need.
 */
export const CARRIED_MANIFEST_BYTES = 64 * 1024;

/**
 * The manifests of `digests`, as the cache holds them, to carry; none when one is missing, is
 * not UTF-8 text that gives back its exact bytes, or they come to more than `most` bytes —
 * PushManifest then reads them all as before.
 */
export function carryManifests(
  cache: ManifestCache,
  digests: string[],
  most = CARRIED_MANIFEST_BYTES,
): CarriedManifest[] | undefined {
  const carried: CarriedManifest[] = [];
  let bytes = 0;
  for (const digest of digests) {
    const manifest = cache.get(digest);
    if (!manifest) return undefined;
    bytes += manifest.bytes.length;
    if (bytes > most) return undefined;
    const text = manifest.bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(manifest.bytes)) return undefined;
    carried.push({ digest: manifest.digest, mediaType: manifest.mediaType, text });
  }
  return carried;
}

/**
 * The most a plan carrying manifests may weigh as JSON: Step Functions keeps an execution's
 * state under 256 KiB (docs/performance.md), and the job's input and each state's result share it.
 */
export const PLAN_CARRYING_BYTES = 128 * 1024;

/**
 * The plan with the manifests, unless that makes it weigh more than `most` bytes as JSON: an
 * image of many blobs needs the state's room for its lanes, and leaves the manifests out.
 */
export function withManifests<Plan extends object>(
  plan: Plan,
  manifests: CarriedManifest[] | undefined,
  most = PLAN_CARRYING_BYTES,
): Plan & { manifests?: CarriedManifest[] } {
  if (!manifests) return plan;
  const carrying = { ...plan, manifests };
  // Step Functions counts the state's bytes as UTF-8, not its characters.
  return Buffer.byteLength(JSON.stringify(carrying)) <= most ? carrying : plan;
}

/**
 * The carried manifests whose bytes hash to their digest, by digest (a cache for fetchManifest
 * and pushManifest); anything else in `carried` is left out and read from the source.
 */
export function carriedManifests(carried: unknown): ManifestCache {
  const cache: ManifestCache = new Map();
  if (!Array.isArray(carried)) return cache;
  for (const item of carried as Partial<CarriedManifest>[]) {
    if (
      typeof item?.digest !== 'string' ||
      typeof item.text !== 'string' ||
      typeof item.mediaType !== 'string'
    )
      continue;
    const bytes = Buffer.from(item.text, 'utf8');
    const what = `carried manifest ${item.digest}`;
    try {
      // As the registry client checks a manifest it reads by digest (ManifestOperations.get).
      verifyDigest(bytes, item.digest, what);
      cache.set(item.digest, { ...parseManifest(bytes, item.mediaType, what), digest: item.digest });
    } catch {
      // Other bytes, not a digest, or not a manifest we read: the source's copy is read instead.
    }
  }
  return cache;
}
