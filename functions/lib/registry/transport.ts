import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { linkLocalReason } from '#net/link-local.ts';
import { Authenticator, type Credentials, type Scope } from './auth.ts';
import {
  DeniedError,
  LinkLocalRefusedError,
  RateLimitedError,
  RedirectTargetUnauthorizedError,
  RegistryError,
  type RegistryErrorDetail,
  RegistryNotFoundError,
  RegistryUnauthorizedError,
  RegistryUnavailableError,
  RequestAbortedError,
} from './errors.ts';
import { guardedLookup, LINK_LOCAL_REFUSED } from './guarded-lookup.ts';
import { Agent } from './http-agent.ts';
import { RegistryPause, type RequestBudget, RequestRateLimiter } from './rate-limiter.ts';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableNetworkError,
  networkErrorCode,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  type RetryPolicy,
  sleep,
} from './retry.ts';

/**
 * The transport layer of the registry client: one connection pool per registry, then
 * authentication, retries and the user agent around every request — the same layering as
 * go-containerregistry's `transport` package. Knows HTTP and the auth protocol, nothing of
 * manifests or blobs.
 */

export interface RegistryEndpoint {
  /** `http(s)://host[:port]`; a path is not allowed (the API lives at /v2/). */
  url: string;
  /** A name for messages: the config's registry name or the host. */
  name?: string;
  credentials?: Credentials | undefined;
  /** Skip TLS verification, and fall back to plain http if the registry does not speak TLS. */
  insecure?: boolean;
  /**
   * PEM text of the CAs trusted for this registry (replaces the defaults). Text, not a path: the
   * client never reads a file a registry entry names (the config reads caFile at load).
   */
  ca?: string | undefined;
  /** Requests per second this registry accepts from us (kept in this process; see `budget`). */
  requestsPerSecond?: number | undefined;
  /** The request budget to take from, shared with other processes; replaces `requestsPerSecond`. */
  budget?: RequestBudget | undefined;
  /**
   * Seconds a response body may send nothing before the read fails as stalled (the config's
   * `readIdleTimeoutSeconds`, its default in config/defaults.ts). Time our side spends not
   * reading (a slow destination holding the pipe back) does not count.
   */
  readIdleTimeoutSeconds?: number | undefined;
  /**
   * Let requests, redirects and token realms reach link-local and cloud metadata addresses
   * (the config's `allowLinkLocal`). Without it they are refused, by URL and by resolved address.
   */
  allowLinkLocal?: boolean | undefined;
}

export interface TransportOptions {
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  connectTimeoutMs?: number;
  /** Longest wait for response headers. */
  headersTimeoutMs?: number;
  connectionsPerOrigin?: number;
}

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface RegistryRequest {
  method: HttpMethod;
  /** `/v2/...` relative to the registry, or an absolute URL the registry gave (upload Location). */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A Readable is sent once (no retry after it started); buffers are replayed on retry. */
  body?: Buffer | string | Readable;
  scopes: Scope[];
  /** Statuses handed back to the caller; anything else becomes a typed error. */
  expect: number[];
  /** What the request is about, for messages: `manifest team-a/app:v1`. */
  what: string;
  signal?: AbortSignal | undefined;
}

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  url: URL;
}

export const USER_AGENT = 'crossdock/0.1 (+https://github.com/crossdock)';
const MAX_REDIRECTS = 5;
const ERROR_BODY_LIMIT = 64 * 1024;
const TLS_FAILURE_CODES = new Set(['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER']);
/** For a client built without one; the config's default (config/defaults.ts) is the same. */
const FALLBACK_READ_IDLE_TIMEOUT_MS = 30_000;

export class RegistryTransport {
  readonly endpoint: RegistryEndpoint;
  readonly name: string;
  /** How long a response body may send nothing before the read fails as stalled. */
  readonly readIdleTimeoutMs: number;
  #base: URL;
  readonly #agent: Agent;
  readonly #auth: Authenticator;
  readonly #retry: RetryPolicy;
  readonly #userAgent: string;
  readonly #budget: RequestBudget | undefined;
  readonly #pause = new RegistryPause();
  #httpFallbackTried = false;

  constructor(endpoint: RegistryEndpoint, options: TransportOptions = {}) {
    this.endpoint = endpoint;
    this.#base = new URL(endpoint.url);
    if (this.#base.pathname !== '/' && this.#base.pathname !== '') {
      throw new RegistryError(`registry URL ${endpoint.url} must not have a path`);
    }
    this.name = endpoint.name ?? this.#base.host;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#userAgent = options.userAgent ?? USER_AGENT;
    this.readIdleTimeoutMs =
      endpoint.readIdleTimeoutSeconds === undefined
        ? FALLBACK_READ_IDLE_TIMEOUT_MS
        : endpoint.readIdleTimeoutSeconds * 1000;
    this.#agent = new Agent({
      connections: options.connectionsPerOrigin ?? 32,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      headersTimeout: options.headersTimeoutMs ?? 60_000,
      // undici's body timeout runs only while the body is being read, never while paused.
      bodyTimeout: this.readIdleTimeoutMs,
      connect: {
        // Checks what a host name resolves to, for every connection (registry, redirect, realm).
        ...(endpoint.allowLinkLocal === true ? {} : { lookup: guardedLookup }),
        rejectUnauthorized: endpoint.insecure !== true,
        ...(endpoint.ca ? { ca: endpoint.ca } : {}),
      },
    });
    this.#auth = new Authenticator({
      registry: this.name,
      credentials: endpoint.credentials,
      fetchToken: (url, headers) => this.#fetchToken(url, headers),
    });
    this.#budget =
      endpoint.budget ??
      (endpoint.requestsPerSecond ? new RequestRateLimiter(endpoint.requestsPerSecond) : undefined);
  }

  /** `host[:port]` as it is now (an insecure registry may have dropped to http). */
  get baseUrl(): URL {
    return new URL(this.#base);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /**
   * Sends a request with authentication, retries and redirects. Returns the response for an
   * expected status (the caller must consume or dump its body); throws a typed error otherwise.
   */
  async send(request: RegistryRequest): Promise<RegistryResponse> {
    const replayable = !(request.body instanceof Readable);
    let retries = 0;
    let challenged = false;
    for (;;) {
      await this.#waitForRegistry(request);
      let response: RegistryResponse;
      let sentAuthorization = false;
      try {
        const authorization = await this.#auth.authorization(request.scopes);
        sentAuthorization = authorization !== undefined;
        response = await this.#dispatch(request, authorization);
        this.#pause.observe(response.status, response.headers);
      } catch (error) {
        if (request.signal?.aborted)
          throw new RequestAbortedError(`${request.what}: aborted`, { cause: error });
        if (error instanceof RegistryError) throw error;
        if (networkErrorCode(error) === LINK_LOCAL_REFUSED) {
          throw new LinkLocalRefusedError(
            `registry ${this.name}: refused to connect for ${request.what}: ${(error as Error).message}`,
            { registry: this.name, cause: error },
          );
        }
        if (this.#switchToHttp(error)) continue;
        if (replayable && isRetryableNetworkError(error) && retries + 1 < this.#retry.attempts) {
          await sleep(backoffDelay(retries++, this.#retry), request.signal);
          continue;
        }
        const code = networkErrorCode(error) ?? (error instanceof Error ? error.message : String(error));
        throw new RegistryUnavailableError(
          `registry ${this.name} could not be reached (${code}) for ${request.what}`,
          {
            registry: this.name,
            cause: error,
          },
        );
      }
      if (request.expect.includes(response.status)) return response;

      // A challenge from a host we were redirected to is not the registry's: acting on it would
      // send our credentials to its realm and make that realm the registry's token service.
      if (response.status === 401 && response.url.origin !== this.#base.origin) {
        await response.body.dump();
        throw new RedirectTargetUnauthorizedError(
          `registry ${this.name} redirected ${request.what} to ${response.url.host}, which answered 401; ` +
            'credentials are only sent to the registry itself',
          { registry: this.name, status: 401, host: response.url.host },
        );
      }

      if (response.status === 401 && !challenged) {
        await response.body.dump();
        challenged = true;
        const canRetry = await this.#auth.challenged(
          response.headers['www-authenticate'],
          request.scopes,
          sentAuthorization,
        );
        if (canRetry && replayable) continue;
        if (canRetry) {
          // The body was a stream and is spent: the caller resumes (uploads ask for the offset).
          throw new RegistryUnavailableError(
            `registry ${this.name} asked to re-authenticate during ${request.what}`,
            {
              registry: this.name,
              status: 401,
            },
          );
        }
        throw this.#unauthorized(request, sentAuthorization, []);
      }

      if (replayable && RETRYABLE_STATUSES.has(response.status) && retries + 1 < this.#retry.attempts) {
        const retryAfter = parseRetryAfter(response.headers['retry-after']);
        if (retryAfter === undefined || retryAfter <= this.#retry.maxRetryAfterMs) {
          await response.body.dump();
          await sleep(retryAfter ?? backoffDelay(retries, this.#retry), request.signal);
          retries++;
          continue;
        }
      }
      throw await this.#errorFor(request, response, sentAuthorization);
    }
  }

  /**
   * Before each request: a pause the registry asked for (Retry-After, an exhausted quota) is
   * waited out when short, and refused as RateLimitedError when longer than the retry policy
   * waits (the caller's retries come back later); then the request budget is taken.
   */
  async #waitForRegistry(request: RegistryRequest): Promise<void> {
    const pause = this.#pause.remainingMs();
    if (pause > this.#retry.maxRetryAfterMs) {
      throw new RateLimitedError(
        `registry ${this.name} asked for a pause of ${Math.ceil(pause / 1000)} s; ${request.what} was not sent`,
        { registry: this.name, status: 429, retryAfterMs: pause },
      );
    }
    if (pause > 0) await sleep(pause, request.signal);
    await this.#budget?.take(request.signal);
  }

  /** One HTTP exchange, following redirects for reads; credentials never leave the registry's origin. */
  async #dispatch(request: RegistryRequest, authorization: string | undefined): Promise<RegistryResponse> {
    let url = this.#resolve(request.path, request.query);
    // Once a redirect has left the registry's origin, no later hop carries our credentials,
    // not even one that leads back: the chain is in another host's hands.
    let leftOrigin = false;
    for (let hop = 0; ; hop++) {
      if (url.origin !== this.#base.origin) leftOrigin = true;
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...request.headers };
      if (authorization !== undefined && !leftOrigin) headers.authorization = authorization;
      const dispatchOptions: Dispatcher.RequestOptions = {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers,
        body: request.body ?? null,
        // undici closes a connection after a HEAD unless told not to (for servers that answer
        // one with a body, nodejs/undici#258); registries do not, and a connection per HEAD
        // cost a TCP connect at both ends (a quarter of a burst's requests opened one).
        ...(request.method === 'HEAD' ? { reset: false } : {}),
      };
      if (request.signal) dispatchOptions.signal = request.signal;
      const response = await this.#agent.request(dispatchOptions);
      const location = response.headers.location;
      const isRedirect = [301, 302, 303, 307, 308].includes(response.statusCode);
      if (
        isRedirect &&
        typeof location === 'string' &&
        (request.method === 'GET' || request.method === 'HEAD')
      ) {
        await response.body.dump();
        if (hop >= MAX_REDIRECTS) {
          throw new RegistryUnavailableError(`registry ${this.name}: too many redirects for ${request.what}`);
        }
        url = new URL(location, url);
        this.#refuseLinkLocal(url, `redirected ${request.what} to`);
        continue;
      }
      return { status: response.statusCode, headers: response.headers, body: response.body, url };
    }
  }

  #resolve(path: string, query: Record<string, string> | undefined): URL {
    const url = new URL(path, this.#base);
    // An upload Location may name the registry by another host (a proxy's view); keep our origin
    // when the registry says so by path only, and never send anywhere it was not configured for.
    if (/^https?:\/\//.test(path) && url.host !== this.#base.host) {
      url.protocol = this.#base.protocol;
      url.host = this.#base.host;
    }
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    return url;
  }

  /** Docker's rule for insecure registries: try TLS without verification, else plain http. */
  #switchToHttp(error: unknown): boolean {
    if (this.endpoint.insecure !== true || this.#httpFallbackTried || this.#base.protocol !== 'https:')
      return false;
    const code = networkErrorCode(error) ?? '';
    if (!TLS_FAILURE_CODES.has(code) && !code.startsWith('ERR_SSL')) return false;
    this.#httpFallbackTried = true;
    this.#base = new URL(this.#base);
    this.#base.protocol = 'http:';
    return true;
  }

  /** Throws unless `url`'s host is an ordinary address, or this registry allows link-local ones. */
  #refuseLinkLocal(url: URL, what: string): void {
    if (this.endpoint.allowLinkLocal === true) return;
    const reason = linkLocalReason(url.hostname);
    if (reason === undefined) return;
    throw new LinkLocalRefusedError(
      `registry ${this.name} ${what} ${url.host}, refused: ${reason} (allowLinkLocal: true allows it)`,
      { registry: this.name },
    );
  }

  async #fetchToken(url: URL, headers: Record<string, string>): Promise<{ status: number; json: unknown }> {
    this.#refuseLinkLocal(url, 'named a token realm on');
    const response = await this.#agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { 'user-agent': this.#userAgent, ...headers },
    });
    const text = await readLimited(response.body, ERROR_BODY_LIMIT);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, json };
  }

  #unauthorized(
    request: RegistryRequest,
    sentAuthorization: boolean,
    details: RegistryErrorDetail[],
  ): RegistryError {
    const who = this.endpoint.credentials
      ? `user "${this.endpoint.credentials.username}"`
      : 'anonymous access';
    const why = sentAuthorization || this.endpoint.credentials ? `refused ${who}` : 'requires credentials';
    return new RegistryUnauthorizedError(`registry ${this.name} ${why} for ${request.what}`, {
      registry: this.name,
      status: 401,
      details,
      anonymous: !this.endpoint.credentials,
    });
  }

  async #errorFor(
    request: RegistryRequest,
    response: RegistryResponse,
    sentAuthorization: boolean,
  ): Promise<RegistryError> {
    const details = await readErrorDetails(response);
    // An answer from a host the registry redirected us to says so: its 404 is not the registry's.
    const redirected =
      response.url.origin === this.#base.origin
        ? ''
        : ` (answered by ${response.url.host}, a redirect target)`;
    const said =
      redirected +
      (details.length > 0 ? `: ${details.map((d) => `${d.code} ${d.message}`.trim()).join('; ')}` : '');
    const context = { registry: this.name, status: response.status, details };
    const status = response.status;
    if (status === 401) return this.#unauthorized(request, sentAuthorization, details);
    if (status === 403)
      return new DeniedError(`registry ${this.name} denied ${request.what}${said}`, context);
    if (status === 404)
      return new RegistryNotFoundError(`${request.what} not found in registry ${this.name}${said}`, context);
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      return new RateLimitedError(`registry ${this.name} is rate-limiting ${request.what}${said}`, {
        ...context,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (RETRYABLE_STATUSES.has(status)) {
      return new RegistryUnavailableError(
        `registry ${this.name} answered ${status} for ${request.what}${said}`,
        context,
      );
    }
    return new RegistryError(`registry ${this.name} answered ${status} for ${request.what}${said}`, context);
  }
}

/** Reads at most `limit` bytes of a body as text, then discards the rest. */
export async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (size + buffer.length > limit) {
      chunks.push(buffer.subarray(0, limit - size));
      body.destroy();
      break;
    }
    chunks.push(buffer);
    size += buffer.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readErrorDetails(response: RegistryResponse): Promise<RegistryErrorDetail[]> {
  try {
    const text = await readLimited(response.body, ERROR_BODY_LIMIT);
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    return (parsed.errors ?? []).map((e) => ({
      code: typeof e.code === 'string' ? e.code : 'UNKNOWN',
      message: typeof e.message === 'string' ? e.message : '',
    }));
  } catch {
    return [];
  }
}
