import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI, cliNodeFlags } from '../support/cli.ts';
import { startCountingProxy } from '../support/fault-proxy.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { scratchDir } from '../support/tools.ts';

/**
 * What every bench row runs its tools with: a command timed under GNU time (wall seconds, peak
 * RSS) and killed, its whole process group, when it runs past a generous timeout; `crossdock`
 * and `skopeo` `copy`/`sync` with the arguments both rows and workloads use; the config and
 * skopeo's sync file they read; and what crossed towards a destination registry.
 */

/** Runs per measured case; the table shows their medians. */
export const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
/** Longest one measured command may run before it is killed and the case fails. */
export const COMMAND_TIMEOUT_MS = Number(process.env.BENCH_COMMAND_TIMEOUT_S ?? 900) * 1000;

export interface Measure {
  seconds: number;
  /** Peak resident memory (GNU time's %M, KiB), in MiB. */
  peakMiB: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/**
 * crossdock ÷ skopeo taken run by run — each round times both, one after the other — and the
 * median of those ratios, with their range. This machine's speed drifts by tens of percent
 * within minutes (the same `skopeo copy` took 3.3–5.3 s in one bench), so the ratio of two
 * medians from different minutes can say more about the drift than about the tools; a pair
 * shares its minute.
 */
export function pairedRatio(
  crossdock: number[],
  skopeo: number[],
): { median: number; min: number; max: number } {
  const ratios = crossdock.slice(0, skopeo.length).map((seconds, i) => seconds / (skopeo[i] as number));
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** `0.93 × paired (0.80–1.23 over 3 runs; 1.13 × of the medians)`. */
export function describeRatio(crossdock: number[], skopeo: number[]): string {
  const paired = pairedRatio(crossdock, skopeo);
  const ofMedians = median(crossdock) / median(skopeo);
  return `${paired.median.toFixed(2)} × paired (${paired.min.toFixed(2)}–${paired.max.toFixed(2)} over ${Math.min(crossdock.length, skopeo.length)} runs; ${ofMedians.toFixed(2)} × of the medians)`;
}

/** Process groups of the commands being measured: killed if the bench exits under them. */
const measuring = new Set<number>();
process.on('exit', () => {
  for (const group of measuring) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

const tail = (text: string) => text.slice(-4000);

/** Runs `command` under GNU time for wall seconds and peak RSS; fails on a non-zero exit or the timeout. */
export function measure(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Measure> {
  const timeoutMs = options.timeoutMs ?? COMMAND_TIMEOUT_MS;
  const shown = `${command} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout kills the command, not only GNU time.
    const child = spawn('/usr/bin/time', ['-f', 'BENCH %e %M', command, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    const group = child.pid as number;
    measuring.add(group);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = tail(stdout + chunk.toString());
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = tail(stderr + chunk.toString());
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-group, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      measuring.delete(group);
      reject(new Error(`${shown} did not start: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      measuring.delete(group);
      const [, seconds, kib] = /BENCH ([\d.]+) (\d+)\s*$/.exec(stderr) ?? [];
      if (timedOut) reject(new Error(`${shown} did not finish within ${timeoutMs / 1000} s: killed`));
      else if (code !== 0 || seconds === undefined)
        reject(new Error(`${shown} failed (exit ${code}):\n${stdout}${stderr}`));
      else resolve({ seconds: Number(seconds), peakMiB: Number(kib) / 1024 });
    });
  });
}

/** A blob-location cache folder of its own: a run starts as a new user's does, with none. */
export const freshCache = () => mkdtempSync(join(scratchDir(), 'crossdock-bench-cache-'));

export interface CrossdockRunOptions {
  /** false: plain `node dist/crossdock.js`, without the V8 flags of the bin's shebang (as a Lambda runs it). */
  binFlags?: boolean;
  /** XDG_CACHE_HOME of the run (its blob-location cache); a fresh one when not given. */
  cacheHome?: string;
}

/** The built CLI, `-q`, as `crossdock` on the PATH runs it (with its shebang's flags) unless told. */
export const crossdock = (args: string[], options: CrossdockRunOptions = {}) =>
  measure(process.execPath, [...(options.binFlags === false ? [] : cliNodeFlags()), CLI, ...args, '-q'], {
    env: { ...process.env, DOCKER_CONFIG: '/nonexistent', XDG_CACHE_HOME: options.cacheHome ?? freshCache() },
  });

export const crossdockCopy = (source: string, destination: string, options: CrossdockRunOptions = {}) =>
  crossdock(['copy', source, destination], options);

export const crossdockSync = (config: string, options: CrossdockRunOptions = {}) =>
  crossdock(['sync', '--config', config], options);

export const skopeoCopy = (source: string, destination: string) =>
  measure('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${source}`,
    `docker://${destination}`,
  ]);

/** `skopeo sync` of what `yaml` lists into the registry at `destination` (host:port). */
export const skopeoSync = (yaml: string, destination: string) =>
  measure('skopeo', [
    'sync',
    '--all',
    '--src',
    'yaml',
    '--dest',
    'docker',
    '--dest-tls-verify=false',
    yaml,
    destination,
  ]);

/** Where `skopeo sync` (without --scoped) puts a source repository: under its last path component. */
export const skopeoSyncedName = (repository: string) => repository.split('/').at(-1) as string;

/** skopeo sync's YAML source for every tag of `repositories` at `host`; answers its path. */
export function skopeoSyncFile(scratch: string, name: string, host: string, repositories: string[]): string {
  const file = join(scratch, `${name}-skopeo.yaml`);
  const lines = repositories.map((repository) => `    ${repository}: ".*"`).join('\n');
  writeFileSync(file, `${host}:\n  tls-verify: false\n  images-by-tag-regex:\n${lines}\n`);
  return file;
}

/**
 * A `crossdock sync` config replicating `project` from the registry at `source` to the one at
 * `destination` (URLs); `limits` as given, else the defaults a new user gets. Answers its path.
 */
export function crossdockSyncConfig(
  scratch: string,
  name: string,
  source: string,
  destination: string,
  project: string,
  limits?: Record<string, number>,
): string {
  return crossdockFanOutConfig(scratch, name, source, [destination], project, limits);
}

/**
 * A `crossdock sync` config replicating `project` from `source` into each of `destinations`
 * (one-to-many: a policy per destination, all run by the one process).
 */
export function crossdockFanOutConfig(
  scratch: string,
  name: string,
  source: string,
  destinations: string[],
  project: string,
  limits?: Record<string, number>,
): string {
  const file = join(scratch, `${name}-crossdock.yaml`);
  writeFileSync(
    file,
    stringify({
      registries: [{ name: 'src', url: source }, ...destinations.map((url, i) => ({ name: `dst${i}`, url }))],
      policies: destinations.map((_, i) => ({
        name: `${project}-to-dst${i}`,
        source: { registry: 'src', project },
        destination: { registry: `dst${i}` },
      })),
      ...(limits ? { limits } : {}),
    }),
  );
  return file;
}

/** Where a tool sends its uploads to a destination registry, and what crossed. */
export interface UploadCounter {
  /** The URL and host to give the tool: the registry's, or a counting proxy's in front of it. */
  url: string;
  host: string;
  /** Blob bytes uploaded (bodies of blob-upload requests, or completed uploads × blob size). */
  blobBytes(): number;
  /** Every upload's body bytes, manifests included; counted only through a proxy. */
  uploadedBytes(): number | undefined;
  stop(): Promise<void>;
}

const BLOB_UPLOAD = /\/blobs\/uploads\//;
/** An upload's last request, with the digest (`:` perhaps escaped): PUT after chunks, or a one-request POST. */
const COMPLETED_UPLOAD = /\/blobs\/uploads\/[^?]*\?(?:.*&)?digest=sha256(?::|%3A)([a-f0-9]{64})/i;

/**
 * Counts what is uploaded to `registry` from now on. Through `proxy`: a counting proxy in front
 * of it (every body byte that reached it). Through `log`, nothing in the way: the registry's
 * access log names each completed blob upload (…?digest=, 201; a mount names none) and its storage the blob's
 * size; an upload abandoned half-way is not counted.
 */
export async function countUploads(registry: TestRegistry, how: 'proxy' | 'log'): Promise<UploadCounter> {
  if (how === 'proxy') {
    const proxy = await startCountingProxy(registry);
    return {
      url: proxy.url,
      host: proxy.host,
      blobBytes: () =>
        proxy
          .requests()
          .filter((r) => (r.method === 'PATCH' || r.method === 'PUT') && BLOB_UPLOAD.test(r.path))
          .reduce((sum, r) => sum + r.bytes, 0),
      uploadedBytes: () => proxy.uploadedBytes(),
      stop: () => proxy.stop(),
    };
  }
  const since = registry.mark();
  return {
    url: registry.url,
    host: registry.host,
    blobBytes: () =>
      registry
        .requests(since)
        .filter((r) => (r.method === 'PUT' || r.method === 'POST') && r.status === 201)
        .reduce((sum, r) => {
          const hex = COMPLETED_UPLOAD.exec(r.path)?.[1];
          return hex === undefined ? sum : sum + blobSize(registry, hex);
        }, 0),
    uploadedBytes: () => undefined,
    stop: async () => {},
  };
}

function blobSize(registry: TestRegistry, hex: string): number {
  const data = join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  return existsSync(data) ? statSync(data).size : 0;
}

/** Peak resident memory of a running process so far (VmHWM), in bytes; undefined once it exited. */
export function peakRssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
