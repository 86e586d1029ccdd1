import { hostname, networkInterfaces } from 'node:os';
import { hostWithPort, isLoopback, isWildcard } from './listen.ts';

/**
 * Which `Host` and `Origin` values are this server's own. A page in the operator's browser can
 * send requests to 127.0.0.1 (a cross-origin `fetch` in no-cors mode, a form) or reach it under
 * its own host name (DNS rebinding): the first carries the page's Origin, the second the page's
 * Host. Neither is ever the server's own, so refusing both keeps pages out; the CLI and curl
 * send no Origin and the Host they connected to.
 */

export interface OwnOrigin {
  /** Host header values (lower-case, with the port). */
  hosts: Set<string>;
  scheme: 'http' | 'https';
}

export function ownOrigin(options: { host: string; port: number; scheme: 'http' | 'https' }): OwnOrigin {
  const { host, port, scheme } = options;
  const names = new Set<string>(['127.0.0.1', 'localhost', host.toLowerCase()]);
  if (host === '::' || host === '::1') names.add('::1');
  if (isWildcard(host)) {
    // Any address of this machine reaches it, and so does its name.
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) names.add(address.address.replace(/%.*$/, '').toLowerCase());
    }
  }
  names.delete('0.0.0.0');
  names.delete('::');
  const hosts = new Set<string>();
  const defaultPort = scheme === 'https' ? 443 : 80;
  for (const name of names) {
    hosts.add(hostWithPort(name, port));
    // Clients leave the scheme's default port out of Host and Origin.
    if (port === defaultPort) hosts.add(hostWithPort(name, port).replace(/:\d+$/, ''));
  }
  return { hosts, scheme };
}

export function isOwnHost(own: OwnOrigin, host: string | undefined): boolean {
  return host !== undefined && own.hosts.has(host.trim().toLowerCase());
}

/** An Origin header names this server (scheme and host); `null` (a sandboxed page, a file) never does. */
export function isOwnOrigin(own: OwnOrigin, origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.protocol === `${own.scheme}:` && own.hosts.has(url.host.toLowerCase());
}

/** Whether the webhook routes check Host too: on loopback every sender is local and uses a loopback name. */
export function checksWebhookHost(listenHost: string): boolean {
  return isLoopback(listenHost);
}
