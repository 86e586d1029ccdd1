import type { RegistryConfig, SourceConfig } from '#config/schema.ts';
import type { Issue } from './errors.ts';

/**
 * Secrets never leave the API (functions/lib/api/README.md, "Secrets"). Every
 * answer replaces them with `REDACTED`, keeping the shape, so a client sees that a secret is set
 * and of which kind:
 * - registries: `credentials.password` (the username stays: it is not a secret);
 * - sources: `auth.value` (header and query kinds) and `auth.hmacSecret`.
 * A client that writes back what it read (GET, edit, PUT) sends `REDACTED` in those places: the
 * stored secret is kept then (`restoreRegistrySecrets`, `restoreSourceSecrets`) — but only for
 * the identity it was given for. Otherwise anyone allowed to call the API could point a stored
 * password at a host of their choice (a new `url`, or TLS checks switched off) and read it there,
 * or re-use a webhook secret for another registry's deliveries: a changed identity needs the
 * secret given again (400).
 */
export const REDACTED = '***';

export function redactRegistry<T extends RegistryConfig>(registry: T): T {
  if (!registry.credentials) return registry;
  return { ...registry, credentials: { ...registry.credentials, password: REDACTED } };
}

export function redactSource(source: SourceConfig): SourceConfig {
  const { auth } = source;
  if ('hmacSecret' in auth) return { ...source, auth: { hmacSecret: REDACTED } };
  return { ...source, auth: { ...auth, value: REDACTED } };
}

/** A body with each kept secret put back, and the issues of the markers that could not be. */
export interface Restored {
  body: unknown;
  issues: Issue[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const NOTHING_STORED = `is "${REDACTED}", the placeholder for a stored secret, but there is none to keep here: give the secret`;
const REGISTRY_IDENTITY_CHANGED = `is "${REDACTED}", but the stored password is kept only for the same url, username and TLS settings (url, username, insecure, caFile): give the password again`;
const SOURCE_IDENTITY_CHANGED = `is "${REDACTED}", but the stored secret is kept only for the same registry and format: give the secret again`;

/** The origin a body's `url` names, as the schema stores it; undefined when it is no URL. */
function originOf(url: unknown): string | undefined {
  return typeof url === 'string' && URL.canParse(url) ? new URL(url).origin : undefined;
}

/** `insecure` as the schema reads it (booleans may be written as strings). */
const isInsecure = (value: unknown) => value === true || value === 'true';

/** Whether the body names the endpoint, the user and the TLS trust the stored password was given for. */
function sameRegistryIdentity(body: Record<string, unknown>, stored: RegistryConfig): boolean {
  const credentials = body.credentials as Record<string, unknown>;
  return (
    originOf(body.url) === stored.url &&
    credentials.username === stored.credentials?.username &&
    isInsecure(body.insecure) === stored.insecure &&
    body.caFile === stored.caFile
  );
}

/** The body with a `REDACTED` password replaced by the stored one, when it may be kept. */
export function restoreRegistrySecrets(body: unknown, stored: RegistryConfig | undefined): Restored {
  if (!isObject(body) || !isObject(body.credentials) || body.credentials.password !== REDACTED) {
    return { body, issues: [] };
  }
  const password = stored?.credentials?.password;
  const path = 'credentials.password';
  if (stored === undefined || password === undefined)
    return { body, issues: [{ path, message: NOTHING_STORED }] };
  if (!sameRegistryIdentity(body, stored))
    return { body, issues: [{ path, message: REGISTRY_IDENTITY_CHANGED }] };
  return { body: { ...body, credentials: { ...body.credentials, password } }, issues: [] };
}

/**
 * The body with a `REDACTED` source secret replaced by the stored one: for the same registry and
 * format, and the same kind of secret (an HMAC secret, or a value for the same header or query
 * parameter name).
 */
export function restoreSourceSecrets(body: unknown, stored: SourceConfig | undefined): Restored {
  if (!isObject(body) || !isObject(body.auth)) return { body, issues: [] };
  const auth = body.auth;
  const path = auth.hmacSecret === REDACTED ? 'auth.hmacSecret' : auth.value === REDACTED ? 'auth.value' : '';
  if (path === '') return { body, issues: [] };
  const issues = (message: string): Restored => {
    const both = auth.hmacSecret === REDACTED && auth.value === REDACTED;
    return {
      body,
      issues: both
        ? [
            { path: 'auth.value', message },
            { path: 'auth.hmacSecret', message },
          ]
        : [{ path, message }],
    };
  };
  if (stored === undefined) return issues(NOTHING_STORED);
  const kept = stored.auth;
  let restored: Record<string, unknown> | undefined;
  if (auth.hmacSecret === REDACTED && 'hmacSecret' in kept) {
    restored = { ...auth, hmacSecret: kept.hmacSecret };
  } else if (auth.value === REDACTED && 'value' in kept) {
    // Only for the same kind and name of header or query parameter: the secret belongs to it.
    const sameHeader = 'header' in kept && auth.header === kept.header;
    const sameQuery = 'query' in kept && auth.query === kept.query;
    if (sameHeader || sameQuery) restored = { ...auth, value: kept.value };
  }
  if (restored === undefined) return issues(NOTHING_STORED);
  if (body.registry !== stored.registry || body.format !== stored.format)
    return issues(SOURCE_IDENTITY_CHANGED);
  return { body: { ...body, auth: restored }, issues: [] };
}
