/** Errors of the stores. Each sets `name`, so that Step Functions Retry/Catch and logs can tell them apart. */

export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** A conditional write lost: the record changed, or was not in the state the write required. */
export class ConflictError extends StoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

export class NotFoundError extends StoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** True for the SDK's ConditionalCheckFailedException (by name: the lib-dynamodb wrapper rethrows it as is). */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
