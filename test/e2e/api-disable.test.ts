import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type CrossdockProcess, type JobView, waitForJobs } from '../support/crossdock-process.ts';
import { startThrottlingProxy, type ThrottlingProxy } from '../support/fault-proxy.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { blobExists, listTags, manifestDigest } from '../support/registry-reader.ts';

/**
 * `crossdock policies disable NAME` while a large blob is being copied: the running job is asked
 * to stop, the copy stops and the job ends CANCELLED without pushing the tag. Enabling the
 * policy again replicates the image.
 *
 * On 127.0.0.1 a 256 MiB blob copies in about a second, less than one poll of the cancel flag,
 * so crossdock reaches B through a TCP proxy that holds uploads to MIB_PER_SECOND: the whole
 * copy then takes ~13 s, and a job CANCELLED under 10 s after the disable with the blob absent
 * at B shows that the copy itself was stopped (not only the manifest push after it).
 */

const MiB = 1024 * 1024;
const MIB_PER_SECOND = 20;

describe('crossdock policies disable: stops a running copy', () => {
  const POLICY = 'big-to-b';
  const LAYER = 256 * MiB;
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let toB: ThrottlingProxy;
  let crossdock: CrossdockProcess;
  let image: PushedImage;
  let bigLayer: string;

  beforeAll(async () => {
    mirror = await startMirror({
      webhook: false,
      policy: { name: POLICY, enabled: false },
      proxy: { b: async (registry) => (toB = await startThrottlingProxy(registry, MIB_PER_SECOND * MiB)) },
    });
    ({ a, b, crossdock } = mirror);
    image = await pushImage(`${a.host}/team/big:v1`, { layerCount: 1, layerSize: LAYER });
    bigLayer = (image.blobs.find((blob) => blob.size > LAYER / 2) as { digest: string }).digest;
  });
  afterAll(() => mirror?.stop());

  const jobsOf = async (): Promise<JobView[]> => {
    const page = await crossdock.api<{ jobs: JobView[] }>('GET', `/api/jobs?policy=${POLICY}&limit=100`);
    return page.body.jobs;
  };

  it('disabling cancels the running copy (CANCELLED < 10 s, blob and tag absent at B); enabling again replicates it', async () => {
    const enable = await runCli(['policies', 'enable', POLICY, '--api', crossdock.url]);
    expect(enable.code, enable.stderr).toBe(0);
    const enabledAt = Date.now();

    // The big layer's copy is under way: the job is RUNNING in MountOrCopyBlobs, bytes flowing to B.
    let running: JobView | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      running = (await jobsOf()).find(
        (job) => job.status === 'RUNNING' && job.substate === 'MountOrCopyBlobs',
      );
      if (running && toB.bytesUp() > 8 * MiB) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(running, 'the job never ran MountOrCopyBlobs').toBeDefined();
    const job = running as JobView;
    const copyingAt = Date.now();

    const disable = await runCli(['policies', 'disable', POLICY, '--api', crossdock.url]);
    const disabledAt = Date.now();
    expect(disable.code, disable.stderr).toBe(0);
    expect(disable.stdout).toContain(
      `policy ${POLICY} disabled: 0 queued jobs cancelled, 1 running jobs asked to stop`,
    );

    const jobs = await waitForJobs(
      crossdock,
      (all) => all.some((j) => j.id === job.id && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status)),
      { timeoutMs: 60_000, query: `policy=${POLICY}` },
    );
    const ended = jobs.find((j) => j.id === job.id) as JobView;
    const endedAfter = Date.now() - disabledAt;
    const sentToB = toB.bytesUp();
    console.log(
      `api-disable: copying ${copyingAt - enabledAt} ms after enable; ${ended.status} ${endedAfter} ms after disable; ` +
        `${(sentToB / MiB).toFixed(0)} MiB of ${LAYER / MiB} sent to B`,
    );
    expect(ended).toMatchObject({ status: 'CANCELLED', error: { code: 'JobCancelledError' } });
    expect(endedAfter).toBeLessThan(10_000);
    expect(ended.history.map((entry) => entry.status)).not.toContain('SUCCEEDED');
    // The copy was stopped: the blob never completed at B, and no tag was pushed.
    expect(await blobExists({ url: b.url }, 'team/big', bigLayer)).toBe(false);
    expect(sentToB).toBeLessThan(LAYER);
    expect(await listTags({ url: b.url }, 'team/big')).not.toContain('v1');
    // Nothing else was started for the disabled policy.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await jobsOf()).map((j) => j.id)).toEqual([job.id]);

    // Enabled again (no throttle now): a new scan, a new job, and the image arrives whole.
    toB.unthrottle();
    const again = await runCli(['policies', 'enable', POLICY, '--api', crossdock.url]);
    expect(again.code, again.stderr).toBe(0);
    const after = await waitForJobs(
      crossdock,
      (all) => all.length === 2 && all.every((j) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status)),
      { timeoutMs: 90_000, query: `policy=${POLICY}` },
    );
    const second = after.find((j) => j.id !== job.id);
    expect(second).toMatchObject({ status: 'SUCCEEDED', tag: 'v1', digest: image.digest });
    expect(after.find((j) => j.id === job.id)?.status).toBe('CANCELLED');
    expect(await manifestDigest({ url: b.url }, 'team/big', 'v1')).toBe(image.digest);
  });
});
