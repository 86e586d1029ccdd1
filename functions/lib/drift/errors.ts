/** Errors of the drift module (functions/lib/drift). Each sets `name`, unique across the code. */

/** A policy's scan or run stopped because its policy was disabled or deleted meanwhile (not a failure). */
export class PolicyStoppedError extends Error {
  override name = 'PolicyStoppedError';
}

/** A drift check stopped at its budget (time or tags): its answer is partial. */
export class DriftBudgetSpentError extends Error {
  override name = 'DriftBudgetSpentError';
}
