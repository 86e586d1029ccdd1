import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { causeChain } from '#registry/retry.ts';
import { API_TOKEN_FILE } from '../../infra/local/api-token.ts';
import { isLoopback } from '../../infra/local/listen.ts';
import type { ApiConnectionOptions } from '../commands.ts';
import { printable } from '../format.ts';
import type { CliIo } from '../io.ts';

/**
 * The CLI's client of the management API (`/api/...`), local or deployed: JSON over undici's
 * `request`, the bearer token when one is given (`--token`, CROSSDOCK_API_TOKEN, or the file a
 * local serve generated). Every failure is an `ApiClientError` whose
 * message is one line fit for the terminal: the API's own message and status, or why the API
 * could not be reached.
 */

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export class ApiClientError extends Error {
  override name = 'ApiClientError';
  /** The HTTP status, when the API answered. */
  readonly status: number | undefined;
  readonly code: string | undefined;

  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

const TIMEOUT_MS = 60_000;

export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #agent = new Agent({ keepAliveTimeout: 1000, connect: { timeout: 10_000 } });

  constructor(baseUrl: string, token?: string) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new ApiClientError(`--api must be an http:// or https:// URL, not "${baseUrl}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ApiClientError(`--api must be an http:// or https:// URL, not "${baseUrl}"`);
    }
    // A deployed API may live under a stage path (…/prod): keep it, without its trailing slash.
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#token = token === '' ? undefined : token;
  }

  async call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const query = Object.entries(options.query ?? {}).filter(([, value]) => value !== undefined);
    const search =
      query.length === 0
        ? ''
        : `?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)]))}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    // Writes are JSON even without a body: the local API refuses other writes (a browser's).
    if (options.body !== undefined || method !== 'GET') headers['content-type'] = 'application/json';
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${this.baseUrl}${path}${search}`, {
        method: method as 'GET',
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        dispatcher: this.#agent,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
    } catch (error) {
      const hint = refused(error)
        ? ': nothing listens there — start it (npm start, or crossdock serve), or give --api URL'
        : '';
      throw new ApiClientError(`cannot reach the crossdock API at ${this.baseUrl}: ${reason(error)}${hint}`);
    }
    const text = await response.body.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (body === undefined && text !== '') {
        throw new ApiClientError(`the crossdock API at ${this.baseUrl} answered something other than JSON`);
      }
      return body as T;
    }
    throw this.#failure(response.statusCode, body);
  }

  #failure(status: number, body: unknown): ApiClientError {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    // API Gateway's own refusals are `{ "message": "…" }`.
    const message =
      typeof error?.message === 'string'
        ? error.message
        : typeof (body as { message?: unknown } | undefined)?.message === 'string'
          ? (body as { message: string }).message
          : undefined;
    const code = typeof error?.code === 'string' ? error.code : undefined;
    if (status === 401) {
      const hint =
        this.#token === undefined
          ? 'it needs a token: pass --token, set CROSSDOCK_API_TOKEN, or give the --state-dir of the serve that made it'
          : 'it refused the token';
      return new ApiClientError(`the crossdock API at ${this.baseUrl} answered 401: ${hint}`, status, code);
    }
    const text = message ?? `the crossdock API at ${this.baseUrl} answered HTTP ${status}`;
    return new ApiClientError(`${oneLine(text)} (HTTP ${status})`, status, code);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ');
}

/** The connection was refused (ECONNREFUSED), here or in the error's causes. */
function refused(error: unknown): boolean {
  for (const cause of causeChain(error)) if (cause.code === 'ECONNREFUSED') return true;
  return false;
}

/** ECONNREFUSED and friends, from undici's error or its cause (an AggregateError has no message). */
function reason(error: unknown): string {
  const parts: string[] = [];
  for (const cause of causeChain(error)) {
    const message = cause.message || (cause instanceof AggregateError ? String(cause.errors[0] ?? '') : '');
    const text = message || (typeof cause.code === 'string' ? cause.code : '') || cause.name;
    if (text && !parts.some((part) => part.includes(text))) parts.push(text);
  }
  return oneLine(parts.join(': ') || String(error));
}

export function connectionFrom(options: ApiConnectionOptions, io: CliIo): ApiClient {
  const url = options.api ?? (io.env.CROSSDOCK_API_URL || undefined) ?? DEFAULT_API_URL;
  const token =
    options.token ?? (io.env.CROSSDOCK_API_TOKEN || undefined) ?? generatedToken(url, options.stateDir);
  return new ApiClient(url, token);
}

/**
 * The token a local serve generated (`<state-dir>/api-token`). Read from `./.crossdock` only for
 * an API on this machine, so a remote API named with --api is never sent the local token; an
 * explicit --state-dir is read whatever the API.
 */
function generatedToken(url: string, stateDir: string | undefined): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  if (stateDir === undefined && !isLoopback(host)) return undefined;
  try {
    return readFileSync(join(stateDir ?? '.crossdock', API_TOKEN_FILE), 'utf8').trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ApiClientError(`cannot read the API token: ${(error as Error).message}`);
  }
}

/**
 * The frame of an API command: a client for the run, and any error as ONE line on stderr
 * (`crossdock jobs retry: …`) with exit code 1.
 */
export async function runApiCommand(
  io: CliIo,
  label: string,
  options: ApiConnectionOptions,
  work: (client: ApiClient) => Promise<number | undefined>,
): Promise<number> {
  let client: ApiClient | undefined;
  try {
    client = connectionFrom(options, io);
    return (await work(client)) ?? 0;
  } catch (error) {
    const message = error instanceof Error ? error.message || error.name : String(error);
    // The message may be the API's, quoting what a registry or a client sent.
    io.stderr.write(`crossdock ${label}: ${printable(oneLine(message))}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}
