import type { RegistryConfig, SourceConfig } from '#config/schema.ts';

/**
 * Secrets never leave the API (functions/lib/api/README.md, "Secrets"). Every
 * answer replaces them with `REDACTED`, keeping the shape, so a client sees that a secret is set
 * and of which kind:
 * - registries: `credentials.password` (the username stays: it is not a secret);
 * - sources: `auth.value` (header and query kinds) and `auth.hmacSecret`.
 * A client that writes back what it read (GET, edit, PUT) sends `REDACTED` in those places: the
 * stored secret is kept then (`restoreRegistrySecrets`, `restoreSourceSecrets`).
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

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The body with each `REDACTED` secret replaced by the stored one, when the stored item has that
 * secret; else unchanged (validation then refuses the marker: see `redactedIssues`).
 */
export function restoreRegistrySecrets(body: unknown, stored: RegistryConfig | undefined): unknown {
  if (!isObject(body) || !isObject(body.credentials) || body.credentials.password !== REDACTED) return body;
  const password = stored?.credentials?.password;
  if (password === undefined) return body;
  return { ...body, credentials: { ...body.credentials, password } };
}

export function restoreSourceSecrets(body: unknown, stored: SourceConfig | undefined): unknown {
  if (!isObject(body) || !isObject(body.auth) || stored === undefined) return body;
  const auth = body.auth;
  const kept = stored.auth;
  if (auth.hmacSecret === REDACTED && 'hmacSecret' in kept) {
    return { ...body, auth: { ...auth, hmacSecret: kept.hmacSecret } };
  }
  if (auth.value === REDACTED && 'value' in kept) {
    // Only for the same kind and name of header or query parameter: the secret belongs to it.
    const sameHeader = 'header' in kept && auth.header === kept.header;
    const sameQuery = 'query' in kept && auth.query === kept.query;
    if (sameHeader || sameQuery) return { ...body, auth: { ...auth, value: kept.value } };
  }
  return body;
}

/** Paths where a body still holds the marker after restoring: there was no stored secret to keep. */
export function redactedIssues(
  kind: 'registry' | 'source',
  body: unknown,
): { path: string; message: string }[] {
  const message = `is "${REDACTED}", the placeholder for a stored secret, but there is none to keep here: give the secret`;
  if (!isObject(body)) return [];
  if (kind === 'registry') {
    return isObject(body.credentials) && body.credentials.password === REDACTED
      ? [{ path: 'credentials.password', message }]
      : [];
  }
  if (!isObject(body.auth)) return [];
  const issues = [];
  if (body.auth.value === REDACTED) issues.push({ path: 'auth.value', message });
  if (body.auth.hmacSecret === REDACTED) issues.push({ path: 'auth.hmacSecret', message });
  return issues;
}
