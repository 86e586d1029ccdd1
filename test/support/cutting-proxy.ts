import net from 'node:net';

/**
 * A TCP proxy in front of a registry that cuts connections on purpose: once a connection has
 * carried `cutAfterBytes` bytes towards the registry, both sides are reset, `times` times in
 * all. It does not look at HTTP at all — it is the network failing, not a fake registry.
 */
export interface CuttingProxy {
  url: string;
  /** Connections cut so far. */
  cuts(): number;
  /** Bytes forwarded towards the registry, over all connections. */
  bytesUp(): number;
  stop(): Promise<void>;
}

export async function startCuttingProxy(
  target: { host: string; port: number },
  options: { cutAfterBytes: number; times: number },
): Promise<CuttingProxy> {
  let cuts = 0;
  let bytesUp = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
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
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cuts: () => cuts,
    bytesUp: () => bytesUp,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
