/**
 * The two indexes of jobs, by their names in the table. Their key attributes stay `gsi1pk`/
 * `gsi1sk` (by policy) and `gsi2pk`/`gsi2sk` (by status), both sorted by `<createdAt>#<id>` so
 * that a descending query lists newest first; only the names moved when the projection did.
 */
export interface JobIndexNames {
  byPolicy: string;
  byStatus: string;
}

/**
 * The indexes a table gets now: keys only. Listings re-read every entry's item anyway
 * (stores/index-listing.ts), and an index of keys is left alone by a write that moves none of
 * them — a job's substate and progress writes touch neither index; only its creation and its
 * status changes do (docs/performance.md).
 */
export const JOB_INDEXES: JobIndexNames = { byPolicy: 'jobsByPolicy', byStatus: 'jobsByStatus' };

/**
 * The indexes of tables made before 2026-12-01, projecting ALL attributes: every write of a job
 * item was also written to both. A local table made then keeps them (their projection costs
 * nothing locally); a deployed one moves to JOB_INDEXES in steps (docs/deploy.md).
 */
export const LEGACY_JOB_INDEXES: JobIndexNames = { byPolicy: 'gsi1', byStatus: 'gsi2' };

/** The key attributes' prefix of each index: `${prefix}pk` and `${prefix}sk`. */
export const JOB_INDEX_KEYS = { byPolicy: 'gsi1', byStatus: 'gsi2' } as const;

export type JobIndex = keyof JobIndexNames;
