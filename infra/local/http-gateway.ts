import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';

/**
 * API Gateway's HTTP API on 127.0.0.1: each request becomes the same v2 event a deployed
 * function receives, and the handler's result becomes the response. Routes match as API Gateway
 * matches them (`/webhooks/{source}`, greedy `{proxy+}`). Like API Gateway it caps the body
 * (here at the webhook limit, answering 413 without reading on) and throttles with a token
 * bucket (429).
 */

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 | undefined>;

export interface Route {
  /** An HTTP method, or ANY. */
  method: string;
  /** API Gateway's syntax: `/webhooks/{source}`, `/api/{proxy+}`. */
  path: string;
  handler: HttpHandler;
  functionName: string;
}

export interface GatewayOptions {
  routes: Route[];
  port: number;
  host?: string;
  /** Bytes read at most; a longer body gets 413. */
  maxBodyBytes: number;
  throttle: { rate: number; burst: number };
  onError?: (error: unknown, request: { method: string; path: string }) => void;
}

export interface Gateway {
  server: Server;
  url: string;
  close(): Promise<void>;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((part) => {
      const greedy = /^\{(\w+)\+\}$/.exec(part);
      if (greedy) {
        names.push(greedy[1] as string);
        return '(.+)';
      }
      const param = /^\{(\w+)\}$/.exec(part);
      if (param) {
        names.push(param[1] as string);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}$`), names };
}

class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last = Date.now();
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

class BadPath extends Error {
  override name = 'BadPath';
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadPath('the path is not valid percent-encoding');
  }
}

class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.pause();
        reject(new BodyTooLarge(`the body is over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function send(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(statusCode, { 'content-type': 'application/json', ...headers });
  response.end(text);
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const routes = options.routes.map(compile);
  const bucket = new TokenBucket(options.throttle.rate, options.throttle.burst);

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://local');
    const method = request.method ?? 'GET';
    const requestId = randomUUID();
    const pathMatches = routes.filter((r) => r.pattern.test(url.pathname));
    const route = pathMatches.find((r) => r.method === method || r.method === 'ANY');
    if (!route) {
      request.resume();
      if (pathMatches.length > 0) send(response, 405, { message: 'Method Not Allowed' });
      else send(response, 404, { message: 'Not Found' });
      return;
    }
    if (!bucket.take()) {
      request.resume();
      send(response, 429, { message: 'Too Many Requests' }, { 'retry-after': '1' });
      return;
    }
    try {
      const body = await readBody(request, options.maxBodyBytes);
      const values = route.pattern.exec(url.pathname)?.slice(1) ?? [];
      const pathParameters = Object.fromEntries(
        route.names.map((name, i) => [name, decodePart(values[i] ?? '')]),
      );
      const query: Record<string, string> = {};
      for (const [key, value] of url.searchParams)
        query[key] = key in query ? `${query[key]},${value}` : value;
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: `${route.method} ${route.path}`,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers: headersOf(request),
        ...(url.search ? { queryStringParameters: query } : {}),
        ...(route.names.length > 0 ? { pathParameters } : {}),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: request.headers.host ?? '127.0.0.1',
          domainPrefix: 'local',
          http: {
            method,
            path: url.pathname,
            protocol: `HTTP/${request.httpVersion}`,
            sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
            userAgent: request.headers['user-agent'] ?? '',
          },
          requestId,
          routeKey: `${route.method} ${route.path}`,
          stage: '$default',
          time: new Date().toUTCString(),
          timeEpoch: Date.now(),
        },
        // Base64 keeps the bytes exactly as sent: HMAC signatures are over the raw body.
        ...(body.length > 0
          ? { body: body.toString('base64'), isBase64Encoded: true }
          : { isBase64Encoded: false }),
      };
      const result = (await route.handler(event, lambdaContext(route.functionName, 30_000, requestId))) ?? {
        statusCode: 200,
      };
      const headers = Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]),
      );
      const text = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
      response.writeHead(result.statusCode ?? 200, headers);
      response.end(text);
    } catch (error) {
      if (error instanceof BadPath) {
        send(response, 400, { message: error.message });
        return;
      }
      if (error instanceof BodyTooLarge) {
        send(response, 413, { message: error.message }, { connection: 'close' });
        return;
      }
      options.onError?.(error, { method, path: url.pathname });
      if (!response.headersSent) send(response, 500, { message: 'Internal Server Error' });
      else response.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
