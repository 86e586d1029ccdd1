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
