import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { allEnded, allJobs, type CrossdockProcess, waitForJobs } from '../support/crossdock-process.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { listTags, manifestDigest } from '../support/registry-reader.ts';

/**
 * `crossdock policies enable NAME` on a policy declared disabled, over a project that already
 * holds images: the background scan makes one job per tag and everything arrives at B. A sends
 * no notifications, so every job comes from the scan.
 */
describe('crossdock policies enable: replicates what the project already holds', () => {
  const POLICY = 'team-to-b';
  const TAGS = Array.from({ length: 10 }, (_, i) => `v${i}`);
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;
  const pushed = new Map<string, PushedImage>();

  beforeAll(async () => {
    mirror = await startMirror({ webhook: false, policy: { name: POLICY, enabled: false } });
    ({ a, b, crossdock } = mirror);
    // Two repositories, five tags each: the scan lists the catalog and every repository's tags.
    await Promise.all(
      TAGS.map(async (tag, i) => {
        const repository = i % 2 === 0 ? 'team/app' : 'team/tools/cli';
        pushed.set(
          `${repository}:${tag}`,
          await pushImage(`${a.host}/${repository}:${tag}`, { layerSize: 2048 }),
        );
      }),
    );
  });
  afterAll(() => mirror?.stop());

  it('a disabled policy replicates nothing; enabling it replicates all 10 tags, listed as 10 SUCCEEDED jobs', async () => {
    // Declared disabled: serve applied it and scanned nothing.
    const before = await runCli(['policies', 'list', '--api', crossdock.url, '--output', 'json']);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toEqual([expect.objectContaining({ name: POLICY, enabled: false })]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await allJobs(crossdock)).toEqual([]);
    expect(await listTags({ url: b.url }, 'team/app')).toEqual([]);

    const started = Date.now();
    const enable = await runCli(['policies', 'enable', POLICY, '--api', crossdock.url]);
    expect(enable.code, enable.stderr).toBe(0);
    expect(enable.stdout).toMatch(new RegExp(`policy ${POLICY} enabled`));

    const jobs = await waitForJobs(crossdock, (all) => all.length === TAGS.length && allEnded(all), {
      timeoutMs: 90_000,
    });
    const elapsed = Date.now() - started;
    expect(jobs.map((job) => job.status)).toEqual(TAGS.map(() => 'SUCCEEDED'));
    expect(jobs.every((job) => job.policy === POLICY && job.action === 'push')).toBe(true);
    expect(new Set(jobs.map((job) => `${job.sourceRepository}:${job.tag}`))).toEqual(new Set(pushed.keys()));

    for (const [ref, image] of pushed) {
      const [repository, tag] = ref.split(':') as [string, string];
      expect(await manifestDigest({ url: b.url }, repository, tag), ref).toBe(image.digest);
    }

    // The CLI's JSON listing is the API's records, parsed as they are.
    const listed = await runCli(['jobs', '--policy', POLICY, '--output', 'json', '--api', crossdock.url]);
    expect(listed.code, listed.stderr).toBe(0);
    const fromCli = JSON.parse(listed.stdout) as { id: string; status: string }[];
    expect(fromCli).toHaveLength(TAGS.length);
    expect(fromCli.every((job) => job.status === 'SUCCEEDED')).toBe(true);
    const fromApi = await crossdock.api<{ jobs: unknown[] }>('GET', `/api/jobs?policy=${POLICY}&limit=100`);
    expect(fromApi.status).toBe(200);
    expect(fromCli).toEqual(fromApi.body.jobs);

    const policies = await runCli(['policies', 'list', '--api', crossdock.url, '--output', 'json']);
    expect(JSON.parse(policies.stdout)).toEqual([expect.objectContaining({ name: POLICY, enabled: true })]);
    console.log(`api-enable: 10 tags replicated ${elapsed} ms after enable`);
  });
});
