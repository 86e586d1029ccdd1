import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../cli/program.ts';
import type { Job } from '../../../functions/lib/jobs/job.ts';
import { newJob } from '../api/harness.ts';
import { capturedIo, type ServedApi, startServedApi } from './api-server.ts';

let api: ServedApi;

beforeAll(async () => {
  api = await startServedApi();
});
afterAll(() => api.stop());
beforeEach(() => {
  api.token = undefined;
});

const dir = mkdtempSync(join(tmpdir(), 'crossdock-cli-api-'));
let files = 0;
function writeConfig(text: string): string {
  const file = join(dir, `crossdock-${++files}.yaml`);
  writeFileSync(file, text);
  return file;
}

async function crossdock(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { io, out } = capturedIo({ CROSSDOCK_API_URL: api.url, ...env });
  const code = await runCli(['node', 'crossdock', ...args], io);
  return { code, ...out };
}

const CONFIG = `
registries:
  - name: hub-a
    url: http://127.0.0.1:5001
    credentials: { username: alice, password: "\${HUB_A_PASSWORD}" }
  - { name: dc-b, url: "http://127.0.0.1:5002" }
sources:
  - { name: hub-a, registry: hub-a, format: distribution, auth: { header: Authorization, value: "Bearer \${HOOK_TOKEN}" } }
policies:
  - name: team-a-to-dc-b
    source: { registry: hub-a, project: team-a }
    destination: { registry: dc-b, namespace: mirror }
    filters: { tags: ["v*"] }
`;
const SECRETS = { HUB_A_PASSWORD: 'pw-one', HOOK_TOKEN: 'hook-one' };

describe('crossdock apply', () => {
  it('creates everything the first time, then reports everything unchanged', async () => {
    const config = writeConfig(CONFIG);

    const first = await crossdock(['apply', '--config', config], SECRETS);
    const second = await crossdock(['apply', '--config', config], SECRETS);

    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^registry hub-a: created$/m);
    expect(first.stdout).toMatch(/^source hub-a: created$/m);
    expect(first.stdout).toMatch(/^policy team-a-to-dc-b: created \(scan \w+ started\)$/m);
    expect(first.stdout).toMatch(/^apply: 4 created, 0 changed, 0 unchanged$/m);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      [
        'registry hub-a: unchanged',
        'registry dc-b: unchanged',
        'source hub-a: unchanged',
        'policy team-a-to-dc-b: unchanged',
        'apply: 0 created, 0 changed, 4 unchanged',
        '',
      ].join('\n'),
    );
    expect(api.scans).toHaveLength(1);
    expect((await api.config.getRegistry('hub-a'))?.credentials?.password).toBe('pw-one');
  });

  it('reports a changed secret as changed, and items it does not declare as left alone', async () => {
    await api.config.putRegistry({ name: 'extra', url: 'http://127.0.0.1:5009' });
    const config = writeConfig(CONFIG);

    const result = await crossdock(['apply', '--config', config], { ...SECRETS, HUB_A_PASSWORD: 'pw-two' });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^registry hub-a: changed$/m);
    expect(result.stdout).toMatch(/^registry extra: not in the config, left alone$/m);
    expect(result.stdout).toMatch(
      /^apply: 0 created, 1 changed, 3 unchanged; 1 not in the config, left alone$/m,
    );
    expect((await api.config.getRegistry('hub-a'))?.credentials?.password).toBe('pw-two');
    await api.config.deleteRegistry('extra');
  });

  it('refuses an invalid config with the path of each error, exit 1, sending nothing', async () => {
    const config = writeConfig(`
registries:
  - { name: hub-a, url: "http://127.0.0.1:5001" }
policies:
  - { name: p, source: { registry: hub-a, project: team-a }, destination: { registry: nowhere }, filters: { tagz: ["*"] } }
`);
    const before = api.requests.length;

    const result = await crossdock(['apply', '--config', config]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/policies\[0\]\.filters\.tagz: unknown key/);
    expect(result.stderr).toMatch(/policies\[0\]\.destination\.registry: unknown registry "nowhere"/);
    // One problem per line, as the terminal shows it (not an escaped \x0a between them).
    expect(result.stderr).toMatch(/invalid config:\n {2}\S[^\n]*\n {2}\S/);
    expect(api.requests.length).toBe(before);
  });
});

describe('crossdock jobs', () => {
  let jobs: Job[];

  beforeAll(async () => {
    const queued = await api.jobs.create(newJob({ policy: 'team-a-to-dc-b' }));
    const done = await api.jobs.create(newJob({ policy: 'team-a-to-dc-b' }));
    await api.jobs.markRunning(done.id, 1, 'arn:exec:done');
    await api.jobs.setSubstate(done.id, 'MountOrCopyBlobs', { copied: 2, bytes: 3 * 1024 * 1024 });
    await api.jobs.recordEnd(done.id, 'SUCCEEDED');
    const failed = await api.jobs.create(newJob({ policy: 'team-a-to-dc-b' }));
    await api.jobs.markRunning(failed.id, 1, 'arn:exec:failed');
    await api.jobs.recordEnd(failed.id, 'FAILED', {
      error: { code: 'ManifestUnknown', message: 'tag v9 is gone' },
    });
    jobs = (await Promise.all([queued, done, failed].map((j) => api.jobs.get(j.id)))) as Job[];
  });

  it('--output json prints the records as the API holds them, newest first', async () => {
    const result = await crossdock(['jobs', '--policy', 'team-a-to-dc-b', '--output', 'json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([...jobs].reverse());
  });

  it('prints a table with the job, policy, action, repository:tag, status, substate, bytes and age', async () => {
    const result = await crossdock(['jobs', '--status', 'succeeded']);

    expect(result.code).toBe(0);
    const [header, row, ...rest] = result.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'JOB',
      'POLICY',
      'ACTION',
      'REPOSITORY:TAG',
      'STATUS',
      'SUBSTATE',
      'BYTES',
      'AGE',
    ]);
    const done = jobs[1] as Job;
    expect(row?.split(/\s{2,}/)).toEqual([
      done.id,
      'team-a-to-dc-b',
      'push',
      `team-a/app:${done.tag}`,
      'SUCCEEDED',
      'MountOrCopyBlobs',
      '3.0 MiB',
      expect.stringMatching(/^\d+[smhd]$/),
    ]);
    expect(rest).toEqual([]);
  });

  it('jobs show prints the record and its history', async () => {
    const failed = jobs[2] as Job;

    const result = await crossdock(['jobs', 'show', failed.id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^job\\s+${failed.id}$`, 'm'));
    expect(result.stdout).toMatch(/^status\s+FAILED$/m);
    expect(result.stdout).toMatch(/^error\s+ManifestUnknown: tag v9 is gone$/m);
    expect(result.stdout).toMatch(/^history$/m);
    for (const entry of failed.history) {
      expect(result.stdout).toMatch(new RegExp(`^${entry.at}\\s+${entry.status}\\s`, 'm'));
    }
    const json = await crossdock(['jobs', 'show', failed.id, '--output', 'json']);
    expect(JSON.parse(json.stdout)).toEqual(failed);
  });

  it('jobs show says what a queued job waits for', async () => {
    const waiting = await api.jobs.create(newJob({ policy: 'team-a-to-dc-b' }));
    await api.jobs.setWait(waiting.id, {
      reason: 'tag',
      since: new Date().toISOString(),
      holder: 'job-before',
    });

    const result = await crossdock(['jobs', 'show', waiting.id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^status\s+QUEUED \(waits for its tag: job job-before holds it\)$/m);
  });

  it('retry queues a FAILED job again; retrying a SUCCEEDED one fails in one line with exit 1', async () => {
    const ok = await crossdock(['jobs', 'retry', (jobs[2] as Job).id]);
    const refused = await crossdock(['jobs', 'retry', (jobs[1] as Job).id]);

    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`job ${(jobs[2] as Job).id} queued again as attempt 2\n`);
    expect(api.enqueued.at(-1)).toEqual({ jobId: (jobs[2] as Job).id, attempt: 2 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `crossdock jobs retry: job ${(jobs[1] as Job).id} is SUCCEEDED: only FAILED or CANCELLED jobs are retried (HTTP 409)\n`,
    );
  });

  it('cancel cancels a queued job', async () => {
    const queued = await api.jobs.create(newJob({ policy: 'team-a-to-dc-b' }));

    const result = await crossdock(['jobs', 'cancel', queued.id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`job ${queued.id} cancelled\n`);
    expect((await api.jobs.get(queued.id))?.status).toBe('CANCELLED');
  });

  it('jobs watch follows the jobs until they end, one line per change when not on a terminal', async () => {
    const running = await api.jobs.create(newJob({ policy: 'watched' }));
    await api.jobs.markRunning(running.id, 1, 'arn:exec:w');
    const { io, out } = capturedIo({ CROSSDOCK_API_URL: api.url });

    const watching = runCli(
      ['node', 'crossdock', 'jobs', 'watch', '--policy', 'watched', '--interval', '40'],
      io,
    );
    // Each change once the watch has shown the one before (on a busy machine its first look
    // came after a change made on a timer, and the RUNNING line never showed).
    await vi.waitFor(() => expect(out.stdout).toMatch(/ RUNNING\n/), { timeout: 5000, interval: 10 });
    await api.jobs.setSubstate(running.id, 'PushManifest', { bytes: 1024 });
    await vi.waitFor(() => expect(out.stdout).toMatch(/ PushManifest 1\.0 KiB\n/), {
      timeout: 5000,
      interval: 10,
    });
    await api.jobs.recordEnd(running.id, 'SUCCEEDED');
    const result = { code: await watching, ...out };

    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${running.id} team-a/app:v\\d+ RUNNING$`));
    expect(lines).toContainEqual(expect.stringMatching(/ RUNNING PushManifest 1\.0 KiB$/));
    expect(lines.at(-2)).toMatch(/ SUCCEEDED 1\.0 KiB$/);
    expect(lines.at(-1)).toBe('1 jobs ended: 1 succeeded, 0 skipped, 0 failed, 0 cancelled');
    // Only the policy's jobs were followed, though others are queued.
    expect(lines.every((line) => !line.includes(' QUEUED'))).toBe(true);
  }, 10_000);
});

describe('crossdock jobs: text from registries and records on a terminal', () => {
  /** What a hostile or broken registry may answer: clear the screen, set the title, colour, a fake line. */
  const HOSTILE = 'manifest unknown\x1b[2J\x1b]0;owned\x07\x9b31m\nFAILED nothing\u202e';
  const SHOWN = 'manifest unknown\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\x0aFAILED nothing\\u202e';
  const CONTROL = /[\p{Cc}\u202e]/u;
  const withoutNewlines = (text: string) => text.replaceAll('\n', '');

  it('jobs show, the jobs table and jobs watch print control characters escaped, never raw', async () => {
    const job = await api.jobs.create(newJob({ policy: 'hostile' }));
    await api.jobs.markRunning(job.id, 1, 'arn:exec:hostile');
    await api.jobs.recordEnd(job.id, 'FAILED', {
      error: { code: 'ManifestUnknown\x1b[8m', message: HOSTILE },
      note: `registry said: ${HOSTILE}`,
    });

    const show = await crossdock(['jobs', 'show', job.id]);
    const table = await crossdock(['jobs', '--policy', 'hostile']);
    const watch = await crossdock(['jobs', 'watch', job.id, '--interval', '40']);

    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^error\s+ManifestUnknown\\x1b\[8m: (.*)$/m);
    expect(show.stdout).toContain(`: ${SHOWN}\n`);
    expect(show.stdout).toContain(`registry said: ${SHOWN}\n`);
    expect(table.code).toBe(0);
    expect(watch.stdout).toContain(`ManifestUnknown\\x1b[8m: ${SHOWN}\n`);
    for (const output of [show, table, watch]) {
      expect(withoutNewlines(output.stdout)).not.toMatch(CONTROL);
      expect(output.stdout).not.toMatch(/^FAILED nothing/m);
    }
  });

  it('an error the API answers is printed on one line, its control characters escaped', async () => {
    const result = await crossdock(['jobs', 'show', 'x\x1b[2J\x9b1m']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('x\\x1b[2J\\x9b1m');
    expect(withoutNewlines(result.stderr)).not.toMatch(CONTROL);
  });
});

describe('crossdock policies and registries', () => {
  it('lists registries with the password redacted, and policies; enable and disable', async () => {
    const config = writeConfig(CONFIG);
    await crossdock(['apply', '--config', config], SECRETS);
    const queued = await api.jobs.create(newJob({ policy: 'team-a-to-dc-b' }));

    const registries = await crossdock(['registries', 'list', '--output', 'json']);
    const table = await crossdock(['registries', 'list']);
    const disable = await crossdock(['policies', 'disable', 'team-a-to-dc-b']);
    const list = await crossdock(['policies', 'list']);
    const enable = await crossdock(['policies', 'enable', 'team-a-to-dc-b']);

    expect(
      JSON.parse(registries.stdout).find((r: { name: string }) => r.name === 'hub-a').credentials,
    ).toEqual({
      username: 'alice',
      password: '***',
    });
    expect(table.stdout).toMatch(/^hub-a\s+distribution\s+http:\/\/127\.0\.0\.1:5001\s+alice\s/m);
    expect(`${registries.stdout}${table.stdout}`).not.toContain('pw-one');
    expect(disable.stdout).toMatch(
      /^policy team-a-to-dc-b disabled: [1-9]\d* queued jobs cancelled, 0 running jobs asked to stop\n$/,
    );
    const left = await api.jobs.listByPolicy('team-a-to-dc-b', { status: 'QUEUED' });
    expect(left.jobs).toEqual([]);
    expect((await api.jobs.get(queued.id))?.status).toBe('CANCELLED');
    expect(list.stdout).toMatch(
      /^team-a-to-dc-b\s+no\s+hub-a\/team-a\s+dc-b\/mirror\s+\*\*\s+v\*\s+no\s+yes$/m,
    );
    expect(enable.code).toBe(0);
    expect(enable.stdout).toMatch(/^policy team-a-to-dc-b enabled; .* \(scan \w+\)\n$/);
  });

  it('names an unknown policy in one line, exit 1', async () => {
    const result = await crossdock(['policies', 'enable', 'nope']);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('crossdock policies enable: no policy named "nope" (HTTP 404)\n');
  });
});

describe('connection and token', () => {
  it('says the API needs a token when it answers 401 (exit 1), and works with --token or the env', async () => {
    api.token = 'api-s3cret';

    // A state folder with no token in it: without --state-dir the CLI would read the one of a
    // serve started in this folder (`npm start` leaves .crossdock/api-token here).
    const noServe = mkdtempSync(join(dir, 'no-serve-'));
    const missing = await crossdock(['registries', 'list', '--state-dir', noServe]);
    const flag = await crossdock(['registries', 'list', '--token', 'api-s3cret']);
    const env = await crossdock(['jobs', '--limit', '1'], { CROSSDOCK_API_TOKEN: 'api-s3cret' });
    const wrong = await crossdock(['jobs'], { CROSSDOCK_API_TOKEN: 'nope' });

    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `crossdock registries list: the crossdock API at ${api.url} answered 401: it needs a token: pass --token, set CROSSDOCK_API_TOKEN, or give the --state-dir of the serve that made it\n`,
    );
    expect([flag.code, env.code]).toEqual([0, 0]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/answered 401: it refused the token\n$/);
  });

  it('says in one line that it cannot reach an API that is not listening, exit 1', async () => {
    const port = await closedPort();

    const result = await crossdock(['jobs', '--api', `http://127.0.0.1:${port}`]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(
      new RegExp(
        `^crossdock jobs: cannot reach the crossdock API at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*: nothing listens there — start it \\(npm start, or crossdock serve\\), or give --api URL\n$`,
      ),
    );
  });
});

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
