import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type CrossdockProcess, sleep, startCrossdock } from '../support/crossdock-process.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { mirrorConfig } from '../support/mirror.ts';
import { removeTag, startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';

/**
 * `crossdock serve` with a policy whose source sends no notifications at all: its schedule
 * (`rate(1 minutes)`, the tick shortened by CROSSDOCK_SCHEDULE_TICK_MS) brings every tag across;
 * `crossdock policies check` then shows a tag deleted at the destination by hand, and
 * `crossdock policies sync` puts it back; `policies runs` lists both runs.
 */
describe('crossdock policies check / sync / runs, and a schedule, over serve', () => {
  const POLICY = 'a-to-b';
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;
  const pushed: Record<string, PushedImage> = {};

  interface RunView {
    runId: string;
    trigger: string;
    status: string;
    result?: { missing: number; jobs: { push: number } };
  }
  const runs = async () =>
    (await crossdock.api<{ runs: RunView[] }>('GET', `/api/policies/${POLICY}/runs`)).body.runs;
  async function until(what: string, done: () => Promise<boolean>, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline)
        throw new Error(`${what}: not within ${timeoutMs} ms\n${crossdock.logs().slice(-3000)}`);
      await sleep(250);
    }
  }
  const cli = (...args: string[]) => runCli([...args, '--api', crossdock.url]);

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    for (const ref of ['team/app:v1', 'team/app:v2']) {
      pushed[ref] = await pushImage(`${a.host}/${ref}`, { layerCount: 1, layerSize: 2048 });
    }
    crossdock = await startCrossdock({
      config: mirrorConfig(a.url, b.url, { webhook: false, policy: { schedule: 'rate(1 minutes)' } }),
      env: { CROSSDOCK_SCHEDULE_TICK_MS: '300' },
    });
  }, 120_000);
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('brings every tag across on the schedule alone', async () => {
    // Act: serve's tick finds the policy due (it never ran).
    await until(
      'the tags at B',
      async () =>
        (await manifestDigest(b, 'team/app', 'v2')) !== undefined &&
        (await manifestDigest(b, 'team/app', 'v1')) !== undefined,
    );

    // Assert
    expect(await manifestDigest(b, 'team/app', 'v1')).toBe(pushed['team/app:v1']?.digest);
    expect(await manifestDigest(b, 'team/app', 'v2')).toBe(pushed['team/app:v2']?.digest);
    await until('the run recorded', async () => (await runs())[0]?.status === 'finished');
    expect((await runs())[0]).toMatchObject({
      trigger: 'schedule',
      result: { missing: 2, jobs: { push: 2 } },
    });
  }, 90_000);

  it('check lists a tag deleted at the destination by hand; sync puts it back', async () => {
    // Arrange
    removeTag(b, 'team/app', 'v1');

    // Act
    const check = await cli('policies', 'check', POLICY);
    const sync = await cli('policies', 'sync', POLICY);
    const runId = /run (\S+) started/.exec(sync.stdout)?.[1];
    await until('the manual run', async () =>
      (await runs()).some((r) => r.runId === runId && r.status === 'finished'),
    );
    await until('v1 back at B', async () => (await manifestDigest(b, 'team/app', 'v1')) !== undefined);
    const listed = await cli('policies', 'runs', POLICY);

    // Assert
    console.log(`${check.stdout}${sync.stdout}${listed.stdout}`);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('drift: 1 missing, 0 moved, 0 extra at the destination');
    expect(check.stdout).toContain('a sync would copy 1 and delete 0');
    expect(check.stdout).toMatch(/missing\s+team\/app\s+v1\s/);
    expect(sync.code).toBe(0);
    expect(runId).toBeDefined();
    expect(await manifestDigest(b, 'team/app', 'v1')).toBe(pushed['team/app:v1']?.digest);
    expect(listed.stdout).toMatch(new RegExp(`${runId}\\s+manual\\s+finished`));
    expect(listed.stdout).toMatch(/schedule\s+finished/);
  }, 90_000);

  it('check and sync of an unknown policy fail, naming it', async () => {
    const check = await cli('policies', 'check', 'nope');
    const sync = await cli('policies', 'sync', 'nope');

    expect([check.code, sync.code]).toEqual([1, 1]);
    expect(check.stderr).toContain('no policy named "nope"');
    expect(sync.stderr).toContain('no policy named "nope"');
  }, 30_000);
});
