/** Errors of the local runtime (`crossdock serve`). Each sets `name`. */

/**
 * How serve was told to listen cannot be used safely or at all: an address off loopback without
 * TLS or `--insecure-http`, a certificate without its key. The message names the flags.
 */
export class ListenSettingsError extends Error {
  override name = 'ListenSettingsError';
}

/** The API token file exists but cannot be used (empty, unreadable). */
export class ApiTokenFileError extends Error {
  override name = 'ApiTokenFileError';
}

/** `secrets.json` in the state folder cannot be read as secrets: never overwritten then. */
export class VaultFileError extends Error {
  override name = 'VaultFileError';
}
