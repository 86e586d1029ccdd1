/** Errors of the command line itself. Each sets `name`. */

/** A flag or argument the command cannot use, said in the user's terms (`--src-creds must be USER:PASSWORD`). */
export class UsageError extends Error {
  override name = 'UsageError';
}
