/**
 * An AWS SDK request handler that serves each request with a Fastify app's `inject` instead of
 * a socket: the SDK signs, serialises and parses as usual, and no port is ever opened. Bodies
 * reach `inject` as Buffers (it takes strings, Buffers and streams; any other object, such as a
 * plain Uint8Array, it would send as JSON). A request whose abort signal fires rejects at once
 * with an AbortError, but the app still finishes it: a long poll abandoned so may yet receive a
 * message, which nobody gets and which comes back after the visibility timeout (receive count +1).
 */

interface SdkRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

interface InjectResponse {
  statusCode: number;
  statusMessage: string;
  headers: Record<string, string | string[] | number | undefined>;
  rawPayload: Buffer;
}

export interface Injectable {
  inject(request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    payload?: Buffer;
  }): PromiseLike<InjectResponse>;
}

function toBuffer(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new Error(`in-memory handler cannot send a body of type ${body?.constructor?.name ?? typeof body}`);
}

function urlOf(request: SdkRequest): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value ?? '']) search.append(key, item);
  }
  const query = search.toString();
  return query ? `${request.path}?${query}` : request.path;
}

function abortError(): Error {
  const error = new Error('Request aborted');
  error.name = 'AbortError';
  return error;
}

/** Rejects with an AbortError as soon as the signal aborts; `work` itself runs on. */
export function abortable<T>(work: PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return Promise.resolve(work);
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(work).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function inMemoryHandler(app: Injectable) {
  return {
    async handle(request: SdkRequest, options?: { abortSignal?: AbortSignal }) {
      const payload = toBuffer(request.body);
      const response = await abortable(
        app.inject({
          method: request.method,
          url: urlOf(request),
          headers: request.headers,
          ...(payload ? { payload } : {}),
        }),
        options?.abortSignal,
      );
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
      }
      return {
        response: {
          statusCode: response.statusCode,
          reason: response.statusMessage,
          headers,
          body: new Uint8Array(response.rawPayload),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
}
