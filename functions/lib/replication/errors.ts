/** Errors of the replication steps. Each sets `name`: the workflow's Catch rules match on it. */

export class ReplicationError extends Error {
  override name = 'ReplicationError';
}

/** The destination tag points at another digest and the policy does not allow overriding it. */
export class DestinationTagConflictError extends ReplicationError {
  override name = 'DestinationTagConflictError';
}

/** The caller's signal asked the copy to stop (a cancelled job, Ctrl-C). */
export class CopyCancelledError extends ReplicationError {
  override name = 'CopyCancelledError';
}

/**
 * The source stopped sending a blob and did not resume making progress: the copy gives up
 * rather than holding its running slot. Deliberately not retried by the workflow (its name is
 * in no Retry): a source that stalled twice at the same byte will stall again.
 */
export class SourceStalledError extends ReplicationError {
  override name = 'SourceStalledError';
}
