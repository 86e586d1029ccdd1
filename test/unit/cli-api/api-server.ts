import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { CliIo } from '../../../cli/io.ts';
import { handleApiRequest, toHttpResponse } from '../../../functions/lib/api/router.ts';
import { type ApiHarness, startApiHarness } from '../api/harness.ts';

/**
 * The management API served over HTTP on 127.0.0.1 (a free port), as a thin node:http adapter
 * around the router on real stores (dynalite), for the CLI to talk to.
 */
export interface ServedApi extends ApiHarness {
  url: string;
  /** Requests served, `METHOD /path?query`. */
  requests: string[];
  /** When set, the API wants this bearer token. */
  token: string | undefined;
  stop(): Promise<void>;
}

export async function startServedApi(): Promise<ServedApi> {
  const harness = await startApiHarness();
  const requests: string[] = [];
  const served = harness as ServedApi;
  served.requests = requests;
  served.token = undefined;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
    );
    const response = await handleApiRequest(
      harness.ports,
      {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : undefined,
      },
      { token: served.token },
    );
    const http = toHttpResponse(response);
    res.writeHead(http.statusCode, http.headers).end(http.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  served.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await harness.close();
  };
  return served;
}

/** A CLI io whose output is kept; not a terminal. */
export function capturedIo(env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  const stream = (key: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk, _encoding, done) {
        out[key] += String(chunk);
        done();
      },
    });
  const io: CliIo = {
    stdout: stream('stdout'),
    stderr: stream('stderr') as unknown as NodeJS.WriteStream,
    env,
  };
  return { io, out };
}
