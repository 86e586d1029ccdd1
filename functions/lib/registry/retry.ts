/** When and how long to wait before trying a registry request again. */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not slept on: the error is raised for a later attempt to wait. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};

/** 408 timeout, 429 throttle and the 5xx a busy or restarting registry gives. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The error and its causes, four deep at most (undici's error, its cause, the socket's, …). */
export function* causeChain(error: unknown): Generator<Error & { code?: unknown }> {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    yield current;
    current = current.cause;
  }
}

export function networkErrorCode(error: unknown): string | undefined {
  for (const cause of causeChain(error)) {
    const { code } = cause;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * undici could not parse an answer: bytes it did not ask for on a kept connection (a server or
 * proxy that sends a body after a HEAD's headers, which the transport keeps connections open
 * across). undici closes that connection; a new one may well answer. Its HTTPParserError often
 * carries no code, so it is known by name.
 */
function isParserError(error: unknown): boolean {
  for (const cause of causeChain(error)) if (cause.name === 'HTTPParserError') return true;
  return false;
}

export function isRetryableNetworkError(error: unknown): boolean {
  const code = networkErrorCode(error);
  return (code !== undefined && RETRYABLE_NETWORK_CODES.has(code)) || isParserError(error);
}

/**
 * Exponential backoff with equal jitter (half the delay fixed, half random): a crowd of clients
 * does not come back in step, and none comes back at once.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `work`, and again after each of `pauses` (milliseconds) while it fails with an error
 * `passing` says will pass: a state the registry is about to leave. Any other error, or one
 * still there after the last pause, is thrown.
 */
export async function tryAgainWhile<T>(
  work: () => Promise<T>,
  passing: (error: unknown) => boolean,
  pauses: readonly number[],
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const pause = pauses[attempt];
      if (pause === undefined || !passing(error)) throw error;
      await sleep(pause, signal);
    }
  }
}
