import type { RegistryClient } from '#registry/client.ts';
import type { Descriptor, Manifest, Platform } from '#registry/manifests.ts';
import type { SharedBlobs } from './blob-index.ts';

/** A manifest and, for an index, its children: what FetchManifest resolved a tag to. JSON-serialisable. */
export interface ManifestNode {
  digest: string;
  mediaType: string;
  size: number;
  platform?: Platform;
  /** Children of an index, in the index's order. */
  children?: ManifestNode[];
  /** Config and layers of an image manifest. */
  blobs?: Descriptor[];
}

export interface ManifestPlan {
  sourceRepository: string;
  /** The tag or digest that was asked for. */
  reference: string;
  root: ManifestNode;
  /** Every blob of the tree, each once. */
  blobs: Descriptor[];
}

/** Manifests already read during this run, by digest: pushing them needs no second GET. */
export type ManifestCache = Map<string, Manifest>;

export type BlobOutcome = 'present' | 'mounted' | 'copied';

export type ReplicationEvent =
  | { type: 'blob-start'; digest: string; size: number }
  | { type: 'blob-progress'; digest: string; bytes: number }
  | { type: 'blob-done'; digest: string; size: number; outcome: BlobOutcome }
  /** The source stopped sending mid-blob; `message` says what stalled, and whether the copy gave up. */
  | { type: 'blob-stalled'; digest: string; message: string; givingUp: boolean }
  | { type: 'manifest-pushed'; digest: string; reference: string };

/** What one side of a copy is: a registry client and a repository in it. */
export interface RepositoryRef {
  client: RegistryClient;
  repository: string;
}

export interface ReplicationOptions {
  /** Blobs of one image copied at once. */
  blobsPerImage?: number;
  /** Copy the OCI referrers (signatures, SBOMs) of what is copied. Default true. */
  referrers?: boolean;
  /**
   * The source repository's tags as the caller listed them (a `sync`): where the source has no
   * referrers API, a referrers fallback tag not among them is known absent — one request less
   * per tag. A referrer tagged after the listing waits for the next run, as a new tag would.
   */
  sourceTags?: ReadonlySet<string>;
  /** Replace a destination tag that points at another digest. Default true. */
  override?: boolean;
  /** Resolve and compare only: nothing is written to the destination. */
  dryRun?: boolean;
  /**
   * Where blobs are in the destination registries, and who copies a missing one: a blob another
   * repository holds is mounted, one another copy is bringing is waited for, then mounted.
   */
  sharedBlobs?: SharedBlobs;
  chunkSize?: number;
  monolithicLimit?: number;
  signal?: AbortSignal;
  onEvent?: (event: ReplicationEvent) => void;
}

export interface ReplicationStats {
  manifestsPushed: number;
  blobsCopied: number;
  blobsMounted: number;
  blobsPresent: number;
  bytesCopied: number;
  referrersCopied: number;
}

export function emptyStats(): ReplicationStats {
  return {
    manifestsPushed: 0,
    blobsCopied: 0,
    blobsMounted: 0,
    blobsPresent: 0,
    bytesCopied: 0,
    referrersCopied: 0,
  };
}

export function addStats(into: ReplicationStats, more: ReplicationStats): ReplicationStats {
  for (const key of Object.keys(into) as (keyof ReplicationStats)[]) into[key] += more[key];
  return into;
}

export interface ReplicateInput {
  source: RepositoryRef;
  destination: RepositoryRef;
  /** Tag or digest at the source. */
  reference: string;
  /** Tag to set at the destination; by default the source tag (none when copying by digest). */
  tag?: string | undefined;
}

export interface ReplicateResult {
  /** `skipped`: the destination already had this digest under this reference. */
  outcome: 'copied' | 'skipped';
  digest: string;
  mediaType: string;
  stats: ReplicationStats;
  /**
   * Dry runs (nothing is written): the blobs a real run would move into the destination
   * registry `registry` — copy, or mount (`mountable`: the blob index knows another repository
   * of that registry holding it, or the source is that registry). Empty for a real run.
   */
  blobsMissing: { blob: Descriptor; mountable: boolean }[];
  /** The destination registry (host[:port]). */
  registry: string;
}
