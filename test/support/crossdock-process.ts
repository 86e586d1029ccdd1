import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { generatedApiToken, rememberApiToken } from './api-tokens.ts';
import { CLI } from './cli.ts';
import { freePort } from './ports.ts';
import { scratchDir } from './tools.ts';

/**
 * `crossdock serve` as a user runs it: the built CLI in its own process, on a free 127.0.0.1
 * port, with a config file and a state folder under the test run's scratch folder. Tests read
 * what happened through its HTTP API (`api()`), and may kill it (-9) and start it again on the
 * same state folder. Its API needs a token: the config's `api.token`, else the one serve
 * generated into the state folder, which `api()` and `runCli` (by the URL) send.
 */

export interface CrossdockProcess {
  url: string;
  port: number;
  stateDir: string;
  configFile: string;
  /** The process id of the running `serve` (undefined once it exited). */
  pid(): number | undefined;
  /** The bearer token its API needs (the config's, else the one serve generated). */
  token: string | undefined;
  /** Its log: the JSON lines it wrote (warnings and errors on stderr among them). */
  logs(): string;
  /** What it told the operator in plain lines on stderr (the API token's whereabouts, errors). */
  messages(): string;
  /** GET/POST on its API; answers the status and the parsed JSON body. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts `serve` again on the same port, config and state folder (after a kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port for crossdock, chosen before the registries start: their notifications must name it. */
export const crossdockPort = freePort;

export async function startCrossdock(options: {
  /** The config as an object; written as YAML. */
  config: Record<string, unknown>;
  port?: number;
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  /** More arguments for `serve` (`--host`, `--tls-cert`, …). */
  args?: string[];
  /** Served over HTTPS with a certificate of this CA (PEM): the URL is https://127.0.0.1:port. */
  https?: { ca: string };
}): Promise<CrossdockProcess> {
  const dir = mkdtempSync(join(scratchDir(), 'crossdock-serve-'));
  const stateDir = options.stateDir ?? join(dir, 'state');
  const configFile = join(dir, 'crossdock.yaml');
  writeFileSync(configFile, stringify(options.config));
  const port = options.port ?? (await freePort());
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dispatcher = options.https ? new Agent({ connect: { ca: options.https.ca } }) : undefined;
  const logFile = join(dir, 'crossdock.log');
  const messageFile = join(dir, 'crossdock.stderr');
  const configToken = (options.config.api as { token?: string } | undefined)?.token;
  let token: string | undefined;
  let child: ChildProcess | undefined;

  const start = async () => {
    const log = openSync(logFile, 'a');
    child = spawn(
      process.execPath,
      [
        // e.g. `--cpu-prof --cpu-prof-dir=…` to profile serve under a test or the bench.
        ...(process.env.CROSSDOCK_SERVE_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
        CLI,
        'serve',
        '--config',
        configFile,
        '--port',
        String(port),
        '--state-dir',
        stateDir,
        ...(options.args ?? []),
      ],
      {
        stdio: ['ignore', log, 'pipe'],
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO', ...options.env },
      },
    );
    running.add(child);
    // stderr carries JSON log lines (warnings, errors) and plain lines for the operator: apart.
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        appendFileSync(line.startsWith('{') ? logFile : messageFile, `${line}\n`);
      });
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const response = await request(`${url}/health`, { ...(dispatcher ? { dispatcher } : {}) });
        await response.body.dump();
        if (response.statusCode === 200) {
          token = configToken || generatedApiToken(stateDir);
          rememberApiToken(url, token);
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || child.exitCode !== null) {
        const output = `${readFileSync(logFile, 'utf8')}${existsSync(messageFile) ? readFileSync(messageFile, 'utf8') : ''}`;
        throw new Error(`crossdock serve did not start:\n${output.slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    running.delete(current);
  };

  await start();
  return {
    url,
    port,
    stateDir,
    configFile,
    get token() {
      return token;
    },
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    logs: () => readFileSync(logFile, 'utf8'),
    messages: () => (existsSync(messageFile) ? readFileSync(messageFile, 'utf8') : ''),
    async api<T>(method: string, path: string, body?: unknown) {
      const response = await request(`${url}${path}`, {
        ...(dispatcher ? { dispatcher } : {}),
        method: method as 'GET',
        headers: {
          // The API takes writes only as JSON (a browser's form or no-cors fetch cannot send that).
          ...(body === undefined && method === 'GET' ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
    },
    kill,
    restart: start,
    stop: async () => {
      await kill('SIGTERM');
      await dispatcher?.close();
    },
  };
}

export interface JobView {
  id: string;
  policy: string;
  action: string;
  status: string;
  substate?: string;
  sourceRepository: string;
  destinationRepository: string;
  tag: string;
  digest?: string;
  attempt: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string; state?: string };
  history: { at: string; status: string; substate?: string; attempt: number; note?: string }[];
}

/** Every job the API lists (all pages), newest first. */
export async function allJobs(crossdock: CrossdockProcess, query = ''): Promise<JobView[]> {
  const jobs: JobView[] = [];
  let cursor: string | undefined;
  do {
    const separator = query ? '&' : '';
    const page = await crossdock.api<{ jobs: JobView[]; cursor?: string }>(
      'GET',
      `/api/jobs?${query}${separator}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (page.status !== 200)
      throw new Error(`GET /api/jobs answered ${page.status}: ${JSON.stringify(page.body)}`);
    jobs.push(...page.body.jobs);
    cursor = page.body.cursor;
  } while (cursor);
  return jobs;
}

const TERMINAL = new Set(['SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELLED']);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One line per job, for failure messages. */
export const describeJobs = (jobs: JobView[]) =>
  jobs.map((job) => `${job.tag} ${job.status} ${job.substate ?? ''} ${job.error?.message ?? ''}`).join('\n');

/** Waits until `check` holds for the jobs (polled every 200 ms), or fails with the last state seen. */
export async function waitForJobs(
  crossdock: CrossdockProcess,
  check: (jobs: JobView[]) => boolean,
  options: { timeoutMs?: number; query?: string } = {},
): Promise<JobView[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let jobs: JobView[] = [];
  while (Date.now() < deadline) {
    jobs = await allJobs(crossdock, options.query);
    if (check(jobs)) return jobs;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `jobs did not reach the expected state in time:\n${jobs.map((j) => `${j.id} ${j.policy} ${j.action} ${j.sourceRepository}:${j.tag} ${j.status} ${j.substate ?? ''} ${j.error?.message ?? ''}`).join('\n')}`,
  );
}

/**
 * Waits until at least `count` jobs exist and all have ended, and answers them. While any job is
 * QUEUED or RUNNING it asks only for one of each (two small pages every 200 ms), so that a
 * measurement's observer does not itself load `serve`: listing every job with its history five
 * times a second was most of the records' traffic under the bench's bursts.
 */
export async function waitForAllEnded(
  crossdock: CrossdockProcess,
  count: number,
  options: { timeoutMs?: number } = {},
): Promise<JobView[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let jobs: JobView[] = [];
  while (Date.now() < deadline) {
    const unfinished = await Promise.all(
      ['QUEUED', 'RUNNING'].map((status) =>
        crossdock.api<{ jobs: JobView[] }>('GET', `/api/jobs?status=${status}&limit=1`),
      ),
    );
    if (unfinished.every((page) => page.status === 200 && page.body.jobs.length === 0)) {
      jobs = await allJobs(crossdock);
      if (jobs.length >= count && allEnded(jobs)) return jobs;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`jobs did not all end in time:\n${describeJobs(jobs)}`);
}

export const allEnded = (jobs: JobView[]) => jobs.length > 0 && jobs.every((job) => TERMINAL.has(job.status));
