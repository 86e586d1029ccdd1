import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type CrossdockProcess, startCrossdock } from '../support/crossdock-process.ts';
import { scratchDir } from '../support/tools.ts';

/**
 * Without `api.token` in the config, `serve` makes one at its first start into
 * `<state-dir>/api-token` (mode 0600, the state folder 0700) and prints it that once; later
 * starts say where it is. The CLI finds it there (`./.crossdock`, or `--state-dir`).
 */
describe('the API token serve generates', () => {
  let crossdock: CrossdockProcess;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = join(mkdtempSync(join(scratchDir(), 'crossdock-token-')), 'state');
    crossdock = await startCrossdock({ config: {}, stateDir });
  });
  afterAll(() => crossdock?.stop());

  it('is written to <state-dir>/api-token (0600, folder 0700) and printed at the first start only', async () => {
    const token = crossdock.token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(statSync(join(stateDir, 'api-token')).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const firstStart = crossdock.messages();
    expect(firstStart).toContain(token);
    // Only crossdock's own lines: no Node warning (node:sqlite's "experimental" one is dropped).
    expect(firstStart).not.toMatch(/Warning/);
    expect(firstStart).toContain(join(stateDir, 'api-token'));

    await crossdock.kill();
    await crossdock.restart();

    expect(crossdock.token).toBe(token);
    const laterStart = crossdock.messages().slice(firstStart.length);
    // Nor in the JSON log, which may be shipped elsewhere.
    expect(crossdock.logs()).not.toContain(token);
    expect(laterStart).toContain(join(stateDir, 'api-token'));
    expect(laterStart).not.toContain(token);
  });

  it('is what the CLI sends: from --token, CROSSDOCK_API_TOKEN, or the file of --state-dir or ./.crossdock', async () => {
    const api = ['--api', crossdock.url, '--output', 'json'];
    const noEnv = { CROSSDOCK_API_TOKEN: '' };
    const cwdWithToken = mkdtempSync(join(scratchDir(), 'crossdock-cwd-'));
    mkdirSync(join(cwdWithToken, '.crossdock'));
    writeFileSync(join(cwdWithToken, '.crossdock', 'api-token'), `${crossdock.token}\n`);
    const emptyCwd = mkdtempSync(join(scratchDir(), 'crossdock-cwd-'));

    const results = await Promise.all([
      runCli(['jobs', ...api, '--token', crossdock.token as string], { env: noEnv, cwd: emptyCwd }),
      runCli(['jobs', ...api], { env: { CROSSDOCK_API_TOKEN: crossdock.token as string }, cwd: emptyCwd }),
      runCli(['jobs', ...api, '--state-dir', stateDir], { env: noEnv, cwd: emptyCwd }),
      runCli(['jobs', ...api], { env: noEnv, cwd: cwdWithToken }),
    ]);
    const without = await runCli(['jobs', ...api], { env: noEnv, cwd: emptyCwd });

    expect(results.map((r) => [r.code, r.stderr])).toEqual(results.map(() => [0, '']));
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/401/);
    expect(without.stderr).toMatch(/--token|CROSSDOCK_API_TOKEN/);
  });
});
