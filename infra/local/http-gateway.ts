import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';
import { hostWithPort, isWildcard, listenError } from './listen.ts';

/**
 * API Gateway's HTTP API on one address (127.0.0.1 unless told), over HTTP or HTTPS: each
 * request becomes the same v2 event a deployed function receives, and the handler's result
 * becomes the response. Routes match as API Gateway matches them (`/webhooks/{source}`, greedy
 * `{proxy+}`). Like API Gateway it caps the body (here at the webhook limit, answering 413
 * without reading on), and a route's guard — its authorizer and throttle (route-access.ts) —
 * can refuse a request before the handler runs.
 */

/** What a guard answers instead of the handler. */
export interface Refusal {
  statusCode: number;
  message: string;
  headers?: Record<string, string>;
}

/** Checks one request of a route, from the client address `client`; undefined lets it through. */
export type RouteGuard = (event: APIGatewayProxyEventV2, client: string) => Promise<Refusal | undefined>;

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
  /** Runs before the handler; none: every request reaches it (`/health`). */
  guard?: RouteGuard;
}

export interface GatewayOptions {
  routes: Route[];
  port: number;
  /** The address to listen on; default 127.0.0.1. */
  host?: string;
  /** PEM certificate and key: HTTPS instead of HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Bytes read at most; a longer body gets 413. */
  maxBodyBytes: number;
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
  const host = options.host ?? '127.0.0.1';

  const listener: RequestListener = async (request, response) => {
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
      const refused = await route.guard?.(event, request.socket.remoteAddress ?? '');
      if (refused) {
        send(response, refused.statusCode, { message: refused.message }, refused.headers);
        return;
      }
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
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error) => reject(listenError(error, host, options.port));
    server.once('error', refused);
    server.listen(options.port, host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // Bound to every address, it is reached locally at loopback.
  const reachableAt = isWildcard(host) ? (host === '::' ? '::1' : '127.0.0.1') : host;
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${hostWithPort(reachableAt, port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
