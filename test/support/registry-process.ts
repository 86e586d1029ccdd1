import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { selfSignedCertificate } from './certificates.ts';
import { freePort } from './ports.ts';
import type { TokenService } from './token-service.ts';
import { scratchDir } from './tools.ts';

/**
 * A real CNCF distribution registry (Debian's `docker-registry`) on a free 127.0.0.1 port with
 * its own temporary storage, optionally behind Basic or token auth, optionally sending
 * notifications. Its access log tells tests which requests it served.
 */

export type RegistryAuth =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'token'; tokenService: TokenService };

export interface RegistryOptions {
  auth?: RegistryAuth;
  notifications?: { url: string; headers?: Record<string, string> };
  /** Serve https with a self-signed certificate for 127.0.0.1 (`caFile` is its PEM). */
  tls?: boolean;
  /**
   * Answer blob reads with a redirect to `baseUrl` + the blob's storage path (distribution's
   * `redirect` storage middleware), as registries backed by S3 or a CDN do.
   */
  redirectBlobsTo?: string;
}

export interface ServedRequest {
  method: string;
  /** Path and query as requested. */
  path: string;
  status: number;
  /** The second it was served (the access log's time), ms since the epoch; undefined if unreadable. */
  at?: number | undefined;
}

export interface TestRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the host part of image references. */
  host: string;
  port: number;
  storage: string;
  /** `user:password` for skopeo and the CLI, when the registry has Basic auth. */
  creds?: string;
  /** The certificate to trust, when the registry serves https. */
  caFile?: string;
  /** Requests served, in order; `since` is a value from `mark()`. */
  requests(since?: number): ServedRequest[];
  mark(): number;
  stop(): Promise<void>;
  /** Stops the process but keeps the storage; `start()` brings it back on the same port. */
  pause(): Promise<void>;
  start(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const ACCESS_LINE = /"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/[\d.]+" (\d{3})/;
/** Apache's `[02/Jan/2026:10:00:00 +0000]`, as the access log writes its time. */
const ACCESS_TIME = /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{2})(\d{2})\]/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function accessTime(line: string): number | undefined {
  const m = ACCESS_TIME.exec(line);
  if (!m) return undefined;
  const [, day, month, year, hour, minute, second, zoneHours, zoneMinutes] = m as unknown as string[];
  const iso = `${year}-${String(MONTHS.indexOf(month as string) + 1).padStart(2, '0')}-${day}T${hour}:${minute}:${second}${zoneHours}:${zoneMinutes}`;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? undefined : time;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(scratchDir(), 'crossdock-registry-'));
  const storage = join(dir, 'storage');
  const logFile = join(dir, 'registry.log');
  const port = await freePort();
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
  };
  if (options.redirectBlobsTo) {
    config.middleware = { storage: [{ name: 'redirect', options: { baseurl: options.redirectBlobsTo } }] };
  }
  let caFile: string | undefined;
  if (options.tls) {
    const { certFile, keyFile } = selfSignedCertificate(dir, '127.0.0.1', '127.0.0.1');
    caFile = certFile;
    (config.http as Record<string, unknown>).tls = { certificate: certFile, key: keyFile };
  }
  let creds: string | undefined;
  if (options.auth?.kind === 'basic') {
    const htpasswd = join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-Bbc', htpasswd, options.auth.username, options.auth.password], {
      stdio: 'ignore',
    });
    config.auth = { htpasswd: { realm: 'crossdock-test', path: htpasswd } };
    creds = `${options.auth.username}:${options.auth.password}`;
  } else if (options.auth?.kind === 'token') {
    const t = options.auth.tokenService;
    config.auth = {
      token: { realm: t.realm, service: t.service, issuer: t.issuer, rootcertbundle: t.certFile },
    };
  }
  if (options.notifications) {
    const headers = Object.fromEntries(
      Object.entries(options.notifications.headers ?? {}).map(([k, v]) => [k, [v]]),
    );
    config.notifications = {
      endpoints: [
        {
          name: 'crossdock',
          url: options.notifications.url,
          headers,
          timeout: '2s',
          threshold: 5,
          backoff: '1s',
          ignore: { mediatypes: ['application/octet-stream'], actions: ['pull'] },
        },
      ],
    };
  }
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, stringify(config));

  let child: ChildProcess | undefined;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const start = async (): Promise<void> => {
    const log = openSync(logFile, 'a');
    child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', log, log] });
    running.add(child);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const response = await request(
          `${url}/v2/`,
          caFile ? { dispatcher: new Agent({ connect: { ca: readFileSync(caFile) } }) } : {},
        );
        await response.body.dump();
        if (response.statusCode === 200 || response.statusCode === 401) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`docker-registry did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const pause = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    running.delete(current);
  };
  const requests = (since = 0): ServedRequest[] =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .flatMap((line) => {
        const match = ACCESS_LINE.exec(line);
        return match
          ? [
              {
                method: match[1] as string,
                path: match[2] as string,
                status: Number(match[3]),
                at: accessTime(line),
              },
            ]
          : [];
      })
      .slice(since);

  await start();
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    storage,
    ...(creds ? { creds } : {}),
    ...(caFile ? { caFile } : {}),
    requests,
    mark: () => requests().length,
    pause,
    start,
    stop: async () => {
      await pause();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes one tag of a repository, leaving the manifest and its other tags: what distribution
 * v3's `DELETE /v2/<name>/manifests/<tag>` does. The v2 registry the tests run cannot delete a
 * tag alone through its API (only a manifest by digest, with all its tags), so this edits its
 * storage, as its maintainers advise; it sends no notification.
 */
export function removeTag(registry: TestRegistry, repository: string, tag: string): void {
  const tagDir = join(
    registry.storage,
    'docker/registry/v2/repositories',
    repository,
    '_manifests/tags',
    tag,
  );
  if (!existsSync(tagDir)) throw new Error(`${repository}:${tag} is not in the registry's storage`);
  rmSync(tagDir, { recursive: true });
}
