/** Errors of the stores. Each sets `name`, so that logs, `httpStatusOf` and Step Functions can tell them apart. */

export class StoreError extends Error {
  override name = 'StoreError';
}

/** A record the caller named is not there (a policy to enable, …). */
export class RecordNotFoundError extends StoreError {
  override name = 'RecordNotFoundError';
}

/** A listing's cursor that the listing did not give (or that was changed). */
export class InvalidCursorError extends StoreError {
  override name = 'InvalidCursorError';
}

/** True for the SDK's ConditionalCheckFailedException (by name: the lib-dynamodb wrapper rethrows it as is). */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
