import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';

/**
 * Proxies in front of a registry that make the network fail on purpose, each a thin fault on one
 * shared core (listen on a free 127.0.0.1 port, track the open sockets, cut them all on stop):
 * - startCuttingProxy (TCP): resets connections after some bytes;
 * - startThrottlingProxy (TCP): holds uploads to a rate;
 * - startFailingProxy (HTTP): answers 503 or resets for a share of requests;
 * - startStallingProxy, startTricklingProxy (HTTP): a blob read's body stops mid-way with the
 *   connection open, or comes slowly but steadily.
 * The TCP ones do not look at HTTP at all: it is the network failing, not a fake registry.
 */

/** A server on 127.0.0.1 (a TestRegistry will do). */
export interface Target {
  port: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

/**
 * Listens on a free 127.0.0.1 port. `sockets` holds the proxy's open sockets: the clients' are
 * added here, a TCP proxy adds its upstream ones; `stop` destroys them all, then closes.
 */
async function listen(server: net.Server, sockets: Set<net.Socket>): Promise<FaultProxy> {
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP proxy: each client connection gets its own connection to `target`; what the registry
 * sends goes back as it is, and `forward` passes on what the client sends (or does not).
 * Closing either side closes both.
 */
async function startTcpProxy(
  target: Target,
  forward: (client: net.Socket, upstream: net.Socket) => void,
): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    forward(client, upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  return listen(server, sockets);
}

export interface CuttingProxy extends FaultProxy {
  /** Connections cut so far. */
  cuts(): number;
  /** Bytes forwarded towards the registry, over all connections. */
  bytesUp(): number;
}

/**
 * Cuts connections: once a connection has carried `cutAfterBytes` bytes towards the registry,
 * both sides are reset, `times` times in all.
 */
export async function startCuttingProxy(
  target: Target,
  options: { cutAfterBytes: number; times: number },
): Promise<CuttingProxy> {
  let cuts = 0;
  let bytesUp = 0;
  const proxy = await startTcpProxy(target, (client, upstream) => {
    let carried = 0;
    client.on('data', (chunk: Buffer) => {
      carried += chunk.length;
      bytesUp += chunk.length;
      if (cuts < options.times && carried >= options.cutAfterBytes) {
        cuts++;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
  });
  return { ...proxy, cuts: () => cuts, bytesUp: () => bytesUp };
}

export interface ThrottlingProxy extends FaultProxy {
  /** Bytes forwarded towards the registry, over all connections. */
  bytesUp(): number;
  /** Stops holding uploads back. */
  unthrottle(): void;
}

/** Sends at most `bytesPerSecond` towards the registry, over all connections, until unthrottled. */
export async function startThrottlingProxy(target: Target, bytesPerSecond: number): Promise<ThrottlingProxy> {
  let limit: number | undefined = bytesPerSecond;
  let bytesUp = 0;
  // When the link is free again: each chunk takes its length / limit, no burst carried over.
  let freeAt = 0;
  const proxy = await startTcpProxy(target, (client, upstream) => {
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      const ok = upstream.write(chunk);
      const now = Date.now();
      freeAt = limit === undefined ? now : Math.max(freeAt, now) + (chunk.length / limit) * 1000;
      const ahead = freeAt - now;
      if (!ok || ahead > 0) {
        client.pause();
        const resume = () => setTimeout(() => client.resume(), Math.max(0, ahead));
        if (ok) resume();
        else upstream.once('drain', resume);
      }
    });
  });
  return {
    ...proxy,
    bytesUp: () => bytesUp,
    unthrottle: () => {
      limit = undefined;
    },
  };
}

export interface FailingProxy extends FaultProxy {
  /** Requests seen and requests failed on purpose. */
  stats(): { requests: number; faults: number };
}

/**
 * An HTTP proxy that fails a share of requests: half of the failures answer 503, the other half
 * reset the connection before any answer. The rest are forwarded as they are (Host kept, so the
 * registry's Location headers name the proxy).
 */
export async function startFailingProxy(
  target: Target,
  options: { failureRate: number; random?: () => number },
): Promise<FailingProxy> {
  const random = options.random ?? Math.random;
  let requests = 0;
  let faults = 0;
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
    forward(target, incoming, outgoing);
  });
  const proxy = await listen(server, new Set());
  return { ...proxy, stats: () => ({ requests, faults }) };
}

/**
 * How a blob read's body goes back to the client: `answer` is the registry's, `outgoing` the
 * client's. Called once per blob read (GET /v2/…/blobs/<digest>), with its 0-based number.
 */
type BlobBodyShaper = (answer: IncomingMessage, outgoing: ServerResponse, read: number) => void;

/**
 * Sends the request on to the registry as it is and its answer back (by default the body as it
 * is; `body` decides otherwise). A failed upstream connection cuts the client's.
 */
function forward(
  target: Target,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  body: (answer: IncomingMessage) => void = (answer) => answer.pipe(outgoing),
): void {
  const upstream = httpRequest(
    {
      host: '127.0.0.1',
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: incoming.headers,
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      body(answer);
    },
  );
  upstream.on('error', () => outgoing.destroy());
  incoming.pipe(upstream);
}

const BLOB_READ = /^\/v2\/.+\/blobs\/[a-z0-9]+:[a-f0-9]+$/;

/** An HTTP proxy that forwards every request as it is, and shapes the bodies of blob reads. */
async function startBlobShapingProxy(target: Target, shape: BlobBodyShaper): Promise<FaultProxy> {
  let blobReads = 0;
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const isBlobRead =
      incoming.method === 'GET' && BLOB_READ.test(new URL(incoming.url ?? '/', 'http://x').pathname);
    forward(target, incoming, outgoing, (answer) => {
      if (isBlobRead && answer.statusCode !== undefined && answer.statusCode < 300)
        shape(answer, outgoing, blobReads++);
      else answer.pipe(outgoing);
    });
  });
  return listen(server, new Set());
}

export interface StallingProxy extends FaultProxy {
  /** Blob reads that stopped sending so far. */
  stalls(): number;
}

/**
 * A source that stalls: the body of a blob read stops after `stallAfterBytes` bytes, with the
 * connection left open and silent (as a hung storage backend does), for the first `times` blob
 * reads (all of them by default); later reads are forwarded whole.
 */
export async function startStallingProxy(
  target: Target,
  options: { stallAfterBytes: number; times?: number },
): Promise<StallingProxy> {
  let stalls = 0;
  const proxy = await startBlobShapingProxy(target, (answer, outgoing, read) => {
    if (read >= (options.times ?? Number.POSITIVE_INFINITY)) {
      answer.pipe(outgoing);
      return;
    }
    let sent = 0;
    answer.on('data', (chunk: Buffer) => {
      const room = options.stallAfterBytes - sent;
      if (chunk.length < room) {
        sent += chunk.length;
        outgoing.write(chunk);
        return;
      }
      outgoing.write(chunk.subarray(0, room));
      stalls++;
      answer.destroy(); // nothing more comes, and the client's connection stays open
    });
    answer.on('end', () => outgoing.end());
  });
  return { ...proxy, stalls: () => stalls };
}

/**
 * A source that is slow but alive: the body of every blob read goes out `bytesPerTick` bytes
 * every `tickMs`, never silent for longer than a tick.
 */
export async function startTricklingProxy(
  target: Target,
  options: { bytesPerTick: number; tickMs: number },
): Promise<FaultProxy> {
  return startBlobShapingProxy(target, (answer, outgoing) => {
    let pending = Buffer.alloc(0);
    let ended = false;
    answer.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
    });
    answer.on('end', () => {
      ended = true;
    });
    const tick = setInterval(() => {
      if (outgoing.destroyed) {
        clearInterval(tick);
        answer.destroy();
        return;
      }
      if (pending.length > 0) {
        outgoing.write(pending.subarray(0, options.bytesPerTick));
        pending = pending.subarray(options.bytesPerTick);
      }
      if (ended && pending.length === 0) {
        clearInterval(tick);
        outgoing.end();
      }
    }, options.tickMs);
  });
}

export interface CountedRequest {
  method: string;
  /** Path and query as requested. */
  path: string;
  /** Bytes of the request's body that reached the registry. */
  bytes: number;
}

export interface CountingProxy extends FaultProxy {
  /** Requests forwarded, in the order they started; `since` is a value from `mark()`. */
  requests(since?: number): CountedRequest[];
  mark(): number;
  /** Body bytes of uploads (PATCH and PUT) that reached the registry. */
  uploadedBytes(since?: number): number;
}

/**
 * An HTTP proxy that changes nothing and counts: each request and the body bytes it carried
 * to the registry, so a test reads what crossdock really sent (not what it says it sent).
 */
export async function startCountingProxy(target: Target): Promise<CountingProxy> {
  const seen: CountedRequest[] = [];
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const counted: CountedRequest = { method: incoming.method ?? '', path: incoming.url ?? '', bytes: 0 };
    seen.push(counted);
    incoming.on('data', (chunk: Buffer) => {
      counted.bytes += chunk.length;
    });
    forward(target, incoming, outgoing);
  });
  const proxy = await listen(server, new Set());
  return {
    ...proxy,
    requests: (since = 0) => seen.slice(since),
    mark: () => seen.length,
    uploadedBytes: (since = 0) =>
      seen
        .slice(since)
        .filter((r) => r.method === 'PATCH' || r.method === 'PUT')
        .reduce((sum, r) => sum + r.bytes, 0),
  };
}
