/**
 * Typed errors of the registry client. Every class sets `name`, because the workflow's
 * Retry/Catch rules and the CLI's failure lines match on it.
 */

/** One entry of the distribution spec's error body: `{"errors":[{code,message,detail}]}`. */
export interface RegistryErrorDetail {
  code: string;
  message: string;
}

export interface RegistryErrorContext {
  registry?: string;
  status?: number;
  details?: RegistryErrorDetail[];
  cause?: unknown;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
  /** Whether trying the same request later may succeed (throttles, 5xx, resets, timeouts). */
  readonly retryable: boolean = false;
  readonly registry: string | undefined;
  readonly status: number | undefined;
  readonly details: RegistryErrorDetail[];

  constructor(message: string, context: RegistryErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.registry = context.registry;
    this.status = context.status;
    this.details = context.details ?? [];
  }

  /** The first error code the registry sent (MANIFEST_UNKNOWN, DENIED, …), if any. */
  get code(): string | undefined {
    return this.details[0]?.code;
  }
}

/** A reference (`host/repo:tag@digest`) that does not follow the distribution grammar. */
export class InvalidReferenceError extends RegistryError {
  override name = 'InvalidReferenceError';
}

/** The registry refused our credentials (or we had none and it wants some). */
export class RegistryUnauthorizedError extends RegistryError {
  override name = 'RegistryUnauthorizedError';
  /** No credentials were configured for the registry: giving some is the likely fix. */
  readonly anonymous: boolean;

  constructor(message: string, context: RegistryErrorContext & { anonymous?: boolean } = {}) {
    super(message, context);
    this.anonymous = context.anonymous ?? false;
  }
}

/** Authenticated, but not allowed to do this. */
export class DeniedError extends RegistryError {
  override name = 'DeniedError';
}

/** The repository, manifest, tag or blob does not exist. */
export class RegistryNotFoundError extends RegistryError {
  override name = 'RegistryNotFoundError';
}

/** Content did not hash to the digest that names it. Never retried: the source is wrong. */
export class DigestMismatchError extends RegistryError {
  override name = 'DigestMismatchError';
}

/** A manifest over the size cap, or a media type we do not understand. */
export class UnsupportedManifestError extends RegistryError {
  override name = 'UnsupportedManifestError';
}

/** 5xx, resets, timeouts after the transport's own retries: a later attempt may succeed. */
export class RegistryUnavailableError extends RegistryError {
  override name = 'RegistryUnavailableError';
  override readonly retryable = true;
}

/** 429 after the transport's own retries; `retryAfterMs` says when the registry wants us back. */
export class RateLimitedError extends RegistryError {
  override name = 'RateLimitedError';
  override readonly retryable = true;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, context: RegistryErrorContext & { retryAfterMs?: number } = {}) {
    super(message, context);
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** The caller's AbortSignal fired. */
export class RequestAbortedError extends RegistryError {
  override name = 'RequestAbortedError';
}

/** The registry answered something the protocol does not allow (missing Location, bad Range…). */
export class ProtocolError extends RegistryError {
  override name = 'ProtocolError';
}

/**
 * A host the registry redirected a read to (blob storage, a CDN) answered 401. Our credentials
 * never leave the registry's origin, so this is not an auth round: the redirect target refused
 * an unauthenticated read, and the message names it.
 */
export class RedirectTargetUnauthorizedError extends RegistryError {
  override name = 'RedirectTargetUnauthorizedError';
  /** `host[:port]` that answered 401. */
  readonly host: string;

  constructor(message: string, context: RegistryErrorContext & { host: string }) {
    super(message, context);
    this.host = context.host;
  }
}

/**
 * A response body sent nothing for the read-idle time: the registry stalled in the middle of a
 * read. Retryable: the read may resume; the copy bounds how often it does without progress.
 */
export class StalledReadError extends RegistryError {
  override name = 'StalledReadError';
  override readonly retryable = true;
  /** How long nothing came, in milliseconds. */
  readonly idleMs: number;

  constructor(message: string, context: RegistryErrorContext & { idleMs: number }) {
    super(message, context);
    this.idleMs = context.idleMs;
  }
}

/**
 * A redirect, a token realm or a host name led to a link-local or cloud metadata address, and
 * the registry does not allow it (`allowLinkLocal`): nothing was sent there.
 */
export class LinkLocalRefusedError extends RegistryError {
  override name = 'LinkLocalRefusedError';
}
