import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../functions/lib/jobs/job.ts';
import { JOB_INDEXES } from '../../functions/lib/stores/job-indexes.ts';
import { toItem } from '../../functions/lib/stores/job-record.ts';
import { JobStore } from '../../functions/lib/stores/jobs.ts';
import { startLocalRecords } from '../../infra/local/records.ts';
import { plantIndexEntry, removeIndexEntry } from '../support/crash-leftovers.ts';
import { type CrossdockProcess, startCrossdock, waitForJobs } from '../support/crossdock-process.ts';
import { type PushedImage, pushImage } from '../support/image-builder.ts';
import { mirrorConfig } from '../support/mirror.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';

/**
 * `serve` started on a state folder that kills left in a bad way (issue: "after a kill -9,
 * serve can refuse to start"): an index holding a stale second entry for a job, a job whose
 * status entry was lost, and a record no start-up step can use. It starts, drives on every job
 * it can read, and reports the one it cannot instead of exiting.
 */
describe('crossdock serve: starting on what kills left behind', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;
  const images: Record<string, PushedImage> = {};

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    for (const tag of ['one', 'two', 'three']) images[tag] = await pushImage(`${a.host}/team/app:${tag}`);
    crossdock = await startCrossdock({ config: mirrorConfig(a.url, b.url, { webhook: false }) });
    await crossdock.stop();
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('starts, drives on the jobs it can read, and logs the one it cannot', async () => {
    // Three jobs the last process recorded and never ran.
    const dir = join(crossdock.stateDir, 'records');
    const records = await startLocalRecords({ dir });
    const store = new JobStore(records.client, records.tableName);
    const job = (tag: string) =>
      store.create({
        id: `job-${tag}`,
        policy: 'a-to-b',
        action: 'push',
        sourceRegistry: 'a',
        sourceRepository: 'team/app',
        tag,
        digest: images[tag]?.digest,
        destinationRegistry: 'b',
        destinationRepository: 'team/app',
      });
    const [one, two, three] = (await Promise.all(['one', 'two', 'three'].map(job))) as [Job, Job, Job];
    // A tag lock that no version of crossdock could have written whole: its claim can never win.
    await records.client.send(
      new PutCommand({
        TableName: records.tableName,
        Item: { pk: 'taglock#a-to-b#team/app:three', sk: 'taglock', jobId: 'ghost', action: 'push' },
      }),
    );
    await records.close();
    // job-one: created again after a kill, so the index also files it under an older createdAt.
    const stale = toItem({ ...one, createdAt: '2020-01-01T00:00:00.000Z' }, 1);
    await plantIndexEntry(dir, records.tableName, JOB_INDEXES.byStatus, stale);
    // job-two: killed while QUEUED → RUNNING was written: its QUEUED entry is gone.
    await removeIndexEntry(dir, records.tableName, JOB_INDEXES.byStatus, toItem(two, 1));
    await plantIndexEntry(
      dir,
      records.tableName,
      JOB_INDEXES.byStatus,
      toItem({ ...two, status: 'RUNNING' }, 2),
    );

    await crossdock.restart();

    const jobs = await waitForJobs(crossdock, (all) =>
      [one.id, two.id].every((id) => all.some((j) => j.id === id && j.status === 'SUCCEEDED')),
    );
    expect(jobs.filter((j) => j.id === one.id)).toHaveLength(1);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'one')).toBe(images.one?.digest);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'two')).toBe(images.two?.digest);
    // The unusable one stays as the records hold it, named in the log.
    expect(jobs.find((j) => j.id === three.id)?.status).toBe('QUEUED');
    const logs = crossdock.logs();
    expect(logs).toContain('the last stop was not clean');
    expect(logs).toMatch(new RegExp(`could not drive this unfinished job on at start.*${three.id}`));
  }, 90_000);
});
