/** The local runtime's errors (those of its state folder and vault). */

/** `secrets.json` in the state folder cannot be read as secrets: never overwritten then. */
export class VaultFileError extends Error {
  override name = 'VaultFileError';
}
