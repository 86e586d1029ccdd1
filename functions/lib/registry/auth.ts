import { RegistryUnauthorizedError } from './errors.ts';

/**
 * Registry authentication: learns the scheme from the WWW-Authenticate challenge of a 401
 * (Basic, or the Docker token protocol), then authorizes later requests up front. Bearer
 * tokens are cached per scope set and refreshed when they expire or a 401 says they went stale.
 */

export interface Credentials {
  username: string;
  password: string;
}

export interface Scope {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function repositoryScope(name: string, ...actions: string[]): Scope {
  return { type: 'repository', name, actions };
}

export const CATALOG_SCOPE: Scope = { type: 'registry', name: 'catalog', actions: ['*'] };

export function scopeText(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (several challenges may be comma-joined). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const challenges: Challenge[] = [];
  const pattern = /([A-Za-z][\w-]*)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?/g;
  let current: Challenge | undefined;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const [, key = '', quoted, bare] = match;
    if (quoted === undefined && bare === undefined) {
      current = { scheme: key.toLowerCase(), params: {} };
      challenges.push(current);
    } else if (current) {
      current.params[key.toLowerCase()] = (quoted ?? bare ?? '').replace(/\\(.)/g, '$1');
    }
  }
  return challenges;
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

export interface TokenResponse {
  status: number;
  json: unknown;
}

/** Does the HTTP GET of a token endpoint; the transport supplies it so TLS options apply. */
export type TokenFetcher = (url: URL, headers: Record<string, string>) => Promise<TokenResponse>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

const TOKEN_EXPIRY_MARGIN_MS = 15_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;

export class Authenticator {
  #scheme: 'unknown' | 'basic' | 'bearer' = 'unknown';
  #bearer: { realm: string; service?: string } | undefined;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pending = new Map<string, Promise<CachedToken>>();
  readonly #credentials: Credentials | undefined;
  readonly #fetchToken: TokenFetcher;
  readonly #registry: string;

  constructor(options: {
    registry: string;
    credentials?: Credentials | undefined;
    fetchToken: TokenFetcher;
  }) {
    this.#registry = options.registry;
    this.#credentials = options.credentials;
    this.#fetchToken = options.fetchToken;
  }

  /** The Authorization header for a request needing these scopes, once the scheme is known. */
  async authorization(scopes: Scope[]): Promise<string | undefined> {
    if (this.#scheme === 'basic' && this.#credentials) return basicAuthorization(this.#credentials);
    if (this.#scheme !== 'bearer') return undefined;
    const key = scopes.map(scopeText).sort().join(' ');
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    return `Bearer ${(await this.#token(key, scopes)).token}`;
  }

  /**
   * Learns from a 401. Returns true when a retry with new authorization can succeed, false
   * when it cannot (no credentials for Basic, an unknown scheme).
   */
  async challenged(
    header: string | string[] | undefined,
    scopes: Scope[],
    hadAuthorization: boolean,
  ): Promise<boolean> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      this.#scheme = 'bearer';
      this.#bearer = { realm: bearer.params.realm };
      if (bearer.params.service !== undefined) this.#bearer.service = bearer.params.service;
      // Either we sent no token yet, or the one we sent expired or lacks a scope: fetch a new
      // one. The transport retries a request once after a challenge, so this cannot loop.
      const key = scopes.map(scopeText).sort().join(' ');
      this.#tokens.delete(key);
      await this.#token(key, scopes, true);
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.#scheme = 'basic';
      return this.#credentials !== undefined && !hadAuthorization;
    }
    return false;
  }

  #token(key: string, scopes: Scope[], force = false): Promise<CachedToken> {
    const pending = this.#pending.get(key);
    if (pending && !force) return pending;
    const promise = this.#requestToken(scopes)
      .then((token) => {
        this.#tokens.set(key, token);
        return token;
      })
      .finally(() => this.#pending.delete(key));
    this.#pending.set(key, promise);
    return promise;
  }

  async #requestToken(scopes: Scope[]): Promise<CachedToken> {
    const bearer = this.#bearer;
    if (!bearer) throw new RegistryUnauthorizedError(`registry ${this.#registry} sent no token realm`);
    const url = new URL(bearer.realm);
    if (bearer.service !== undefined) url.searchParams.set('service', bearer.service);
    for (const scope of scopes) url.searchParams.append('scope', scopeText(scope));
    const headers: Record<string, string> = {};
    if (this.#credentials) headers.authorization = basicAuthorization(this.#credentials);
    const response = await this.#fetchToken(url, headers);
    if (response.status === 401 || response.status === 403) {
      throw new RegistryUnauthorizedError(
        `registry ${this.#registry}: the token service refused ${this.#credentials ? `the credentials of user "${this.#credentials.username}"` : 'anonymous access'}`,
        { registry: this.#registry, status: response.status, anonymous: !this.#credentials },
      );
    }
    const body = response.json as
      | { token?: unknown; access_token?: unknown; expires_in?: unknown }
      | undefined;
    const token = body?.token ?? body?.access_token;
    if (response.status !== 200 || typeof token !== 'string' || token === '') {
      throw new RegistryUnauthorizedError(
        `registry ${this.#registry}: the token service answered ${response.status} without a token`,
        {
          registry: this.#registry,
          status: response.status,
        },
      );
    }
    const lifetimeS = typeof body?.expires_in === 'number' ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    return { token, expiresAt: Date.now() + lifetimeS * 1000 - TOKEN_EXPIRY_MARGIN_MS };
  }
}
