/**
 * The ports through which the copy steps learn where a blob already is in a destination
 * registry, and agree on who copies it (docs/architecture.md, "Mounts"). The steps stay free of
 * where this is kept: the pipeline keeps it in its DynamoDB table (functions/lib/stores), the
 * one-shot CLI in a cache file (cli/blob-cache.ts), a process alone in memory (blob-locations.ts).
 */

/** Blobs per destination registry (its `host[:port]`): a few repositories known to hold each. */
export interface BlobIndex {
  /** Repositories of `registry` known to hold `digest`, newest first (a hint: it may be stale). */
  holders(registry: string, digest: string): Promise<string[]>;
  /** `repository` of `registry` holds `digest` now (it was copied, mounted or found there). */
  remember(registry: string, digest: string, repository: string): Promise<void>;
  /** A mount from `repository` failed: it no longer holds `digest`. */
  forget(registry: string, digest: string, repository: string): Promise<void>;
}

/**
 * Short-lived claims to copy a blob into a registry: of the jobs that need the same blob at the
 * same time, the one holding the claim copies it and the others mount it when it lands. A claim
 * expires by itself, so a holder that died delays the others at most its time to live.
 */
export interface BlobClaims {
  /** True when `holder` holds the claim now (taken, or its own renewed); false while another does. */
  claim(registry: string, digest: string, holder: string): Promise<boolean>;
  /** Gives the claim up, if `holder` still holds it. */
  release(registry: string, digest: string, holder: string): Promise<void>;
  /**
   * Settles when the blob's claim is next given up by a holder in this process, so a waiter
   * need not poll for it: the CLI's claims, and the table's when the holder's task runs in the
   * same process (the local runtime). A holder elsewhere (another Lambda) cannot say so: the
   * waiter's poll is what finds that. `signal` ends the wait (the waiter stops listening).
   */
  released?(registry: string, digest: string, signal: AbortSignal): Promise<void>;
  /**
   * Extends `holder`'s own claim (false when it is not theirs now), where `claim` would refuse
   * it for a reason that does not concern a copy under way (claims kept with the index: a
   * repository named meanwhile). Unset: the copy renews by `claim`.
   */
  renew?(registry: string, digest: string, holder: string): Promise<boolean>;
  /**
   * Set by claims kept in the same record as the blob's index entry (the pipeline's table:
   * functions/lib/stores/blob-claims.ts). There `claim` is refused while the entry names a
   * holder, so a claim taken needs no second look at the index; and this gives the claim up
   * while naming `repository` as the blob's holder, one write for two (docs/performance.md,
   * "What one replicated tag costs"). False, and nothing written, when the entry changed since
   * the claim was taken: the caller then remembers the blob and releases the claim apart.
   */
  releaseHolding?(registry: string, digest: string, holder: string, repository: string): Promise<boolean>;
}

/** What the copy steps need to share blobs: where they are, and who copies a missing one. */
export interface SharedBlobs {
  index: BlobIndex;
  claims: BlobClaims;
  /**
   * Blobs smaller than this are copied as they are, with no index or claim: where those cost
   * record operations (the pipeline), copying a small blob twice is cheaper. Unset: every blob.
   */
  minBytes?: number | undefined;
}
