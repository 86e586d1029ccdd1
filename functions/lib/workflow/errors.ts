/** Errors the workflow's Catch rules match by name (`JobCancelledError` → RecordCancelled). */

export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
}

/** The execution belongs to an older attempt than the record's: a retry superseded it. */
export class StaleAttemptError extends Error {
  override name = 'StaleAttemptError';
}
