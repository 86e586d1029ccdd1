import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrossdockProcess, sleep, startCrossdock } from '../support/crossdock-process.ts';
import { pushImage } from '../support/image-builder.ts';
import { mirrorConfig } from '../support/mirror.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { listTags, tagImage } from '../support/registry-reader.ts';

/**
 * A reconciliation run survives a kill -9 of `serve` in its middle: it is recorded before it
 * starts (like a scan), started again at start-up, and brings every tag across
 * (docs/architecture.md, "Drift and reconciliation runs"). A's request budget of 20/s makes the
 * run last a few seconds, long enough to be killed in.
 */

interface RunView {
  runId: string;
  status: string;
  trigger: string;
}

const TAGS = 80;

describe('crossdock serve: a policy sync run killed mid-way', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    await pushImage(`${a.host}/team/app:t0`, { layerCount: 1, layerSize: 2048 });
    await tagImage(
      { url: a.url },
      'team/app',
      't0',
      Array.from({ length: TAGS - 1 }, (_, i) => `t${i + 1}`),
    );
    const config = mirrorConfig(a.url, b.url, { webhook: false });
    config.registries = (config.registries as { name: string }[]).map((registry) =>
      registry.name === 'a' ? { ...registry, rateLimit: { requestsPerSecond: 20 } } : registry,
    );
    crossdock = await startCrossdock({ config });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('runs again after the restart and brings every tag across', async () => {
    const started = await crossdock.api<{ run: { id: string } }>('POST', '/api/policies/a-to-b/sync');
    expect(started.status).toBe(202);
    await sleep(1_500);
    const before = await crossdock.api<{ runs: RunView[] }>('GET', '/api/policies/a-to-b/runs');
    expect(before.body.runs[0]).toMatchObject({ runId: started.body.run.id, status: 'running' });

    await crossdock.kill('SIGKILL');
    const copiedBeforeTheKill = (await listTags({ url: b.url }, 'team/app')).length;
    await crossdock.restart();

    let tags: string[] = [];
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      tags = await listTags({ url: b.url }, 'team/app');
      if (tags.length === TAGS) break;
      await sleep(500);
    }
    const after = await crossdock.api<{ runs: RunView[] }>('GET', '/api/policies/a-to-b/runs');
    console.log(
      `killed with ${copiedBeforeTheKill}/${TAGS} tags at B; after the restart ${tags.length}/${TAGS}; runs ${JSON.stringify(after.body.runs.map((r) => [r.runId, r.status]))}`,
    );
    expect(tags).toHaveLength(TAGS);
    expect(after.body.runs.find((run) => run.runId === started.body.run.id)?.status).not.toBe('running');
  });
});
