import { isIP } from 'node:net';
import { ListenSettingsError } from './errors.ts';

/**
 * Where `serve` listens, and whether that is safe. On loopback only local processes reach it.
 * Off loopback, registries on other machines post to it and the API's bearer token crosses the
 * network, so serve wants HTTPS (`--tls-cert`/`--tls-key`) or the operator's explicit
 * `--insecure-http` (a trusted network, TLS ended by a proxy in front).
 */

export const DEFAULT_HOST = '127.0.0.1';

export interface ListenSettings {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | undefined;
  insecureHttp?: boolean | undefined;
}

/** 127.0.0.0/8, ::1 and `localhost`: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** 0.0.0.0 and ::: every address of this machine. */
export function isWildcard(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === '0.0.0.0' || bare === '::';
}

/** Throws `ListenSettingsError`, naming the flags, for settings serve must not start with. */
export function checkListenSettings(settings: {
  host: string;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  insecureHttp?: boolean | undefined;
}): ListenSettings['tls'] {
  const { host, tlsCert, tlsKey, insecureHttp } = settings;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ListenSettingsError('--tls-cert and --tls-key go together: give both (PEM files) or neither');
  }
  const tls =
    tlsCert !== undefined && tlsKey !== undefined ? { certFile: tlsCert, keyFile: tlsKey } : undefined;
  if (tls && insecureHttp) {
    throw new ListenSettingsError('--insecure-http contradicts --tls-cert/--tls-key: give one or the other');
  }
  if (!isLoopback(host) && !tls && !insecureHttp) {
    throw new ListenSettingsError(
      `--host ${host} is reachable from other machines, and plain HTTP would show them the API token: ` +
        'give --tls-cert FILE and --tls-key FILE to serve HTTPS, or --insecure-http to serve plain HTTP anyway',
    );
  }
  return tls;
}

/** `host:port` as a URL or a Host header writes it (IPv6 in brackets). */
export function hostWithPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Why the address could not be taken, in the words of serve's flags: the system's EADDRINUSE
 * alone does not say that another crossdock may hold the port, nor which flag moves it.
 */
export function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = hostWithPort(host, port);
  const why =
    code === 'EADDRINUSE'
      ? `${where} is in use (another crossdock serve, or another program): stop it, or give another --port`
      : code === 'EACCES'
        ? `${where} needs privileges this user lacks (ports below 1024): give a --port of 1024 or above`
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine: give --host one of its addresses (or 0.0.0.0)`
          : undefined;
  return why === undefined
    ? (error as Error)
    : new ListenSettingsError(`cannot listen: ${why}`, { cause: error });
}
