import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy in front of a registry that fails a share of requests on purpose: half of the
 * failures answer 503, the other half reset the connection before any answer. The rest are
 * forwarded as they are (Host kept, so the registry's Location headers name the proxy).
 */
export interface FaultProxy {
  url: string;
  host: string;
  /** Requests seen and requests failed on purpose. */
  stats(): { requests: number; faults: number };
  stop(): Promise<void>;
}

export async function startFaultProxy(
  target: { host: string; port: number },
  options: { failureRate: number; random?: () => number },
): Promise<FaultProxy> {
  const random = options.random ?? Math.random;
  let requests = 0;
  let faults = 0;
  const sockets = new Set<Socket>();
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    requests++;
    const roll = random();
    if (roll < options.failureRate) {
      faults++;
      if (roll < options.failureRate / 2) {
        incoming.resume();
        outgoing.writeHead(503, { 'content-type': 'application/json', connection: 'close' });
        outgoing.end('{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}');
      } else {
        incoming.socket.resetAndDestroy();
      }
      return;
    }
    const upstream = httpRequest(
      {
        host: target.host,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    stats: () => ({ requests, faults }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
