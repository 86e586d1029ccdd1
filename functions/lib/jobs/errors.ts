/** Errors of the job model. Each sets `name`: logs, the workflow's Catch rules and `httpStatusOf` tell them apart. */

/** The job's status does not allow this step (running a finished job, retrying a running one). */
export class JobTransitionError extends Error {
  override name = 'JobTransitionError';
}

/** No job of that id in the records. */
export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
}

/** A new job's id is taken: the same delivery (or scan) made it before. */
export class JobExistsError extends Error {
  override name = 'JobExistsError';
}
