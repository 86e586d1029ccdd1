import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEnded, type CrossdockProcess, type JobView, waitForJobs } from '../support/crossdock-process.ts';
import { pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import type { TestRegistry } from '../support/registry-process.ts';
import { deleteManifest, manifestDigest } from '../support/registry-reader.ts';
import { replicationPolicy } from '../support/serve-config.ts';

/**
 * A delete at the source reaches the destination through the source's own notifications
 * (distribution sends `{digest}` then one `{tag}` event per tag), but only while the
 * destination's tag still points at the digest deleted at the source.
 */

const query = (repository: string) => `repository=${encodeURIComponent(repository)}`;
const pushJob = (jobs: JobView[]) => jobs.find((job) => job.action === 'push');
const deleteJob = (jobs: JobView[]) => jobs.find((job) => job.action === 'delete');

describe('crossdock serve: deletes', () => {
  let mirror: Mirror;
  let a: TestRegistry;
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    mirror = await startMirror({
      policy: { name: 'team-a-to-b', replicateDeletes: true },
      policies: [
        replicationPolicy({
          name: 'keep-a-to-b',
          from: 'a',
          to: 'b',
          project: 'keep',
          replicateDeletes: false,
        }),
      ],
    });
    ({ a, b, crossdock } = mirror);
  });
  afterAll(() => mirror?.stop());

  /** Pushes to A and waits until the push job SUCCEEDED and B holds the image. */
  async function replicated(repository: string, tag: string): Promise<string> {
    const image = await pushImage(`${a.host}/${repository}:${tag}`);
    const jobs = await waitForJobs(crossdock, (all) => allEnded(all), { query: query(repository) });
    expect(jobs).toHaveLength(1);
    expect(pushJob(jobs)).toMatchObject({ status: 'SUCCEEDED', tag, digest: image.digest });
    expect(await manifestDigest({ url: b.url }, repository, tag)).toBe(image.digest);
    return image.digest;
  }

  it('a manifest deleted at A is deleted at B: the delete job SUCCEEDED and the tag no longer resolves at B', async () => {
    const digest = await replicated('team/app', 'v1');

    await deleteManifest(a, 'team/app', digest);

    const jobs = await waitForJobs(crossdock, (all) => all.length >= 2 && allEnded(all), {
      query: query('team/app'),
    });
    expect(jobs).toHaveLength(2);
    expect(deleteJob(jobs)).toMatchObject({
      policy: 'team-a-to-b',
      action: 'delete',
      status: 'SUCCEEDED',
      tag: 'v1',
      digest,
    });
    expect(await manifestDigest({ url: a.url }, 'team/app', 'v1')).toBeUndefined();
    expect(await manifestDigest({ url: b.url }, 'team/app', 'v1')).toBeUndefined();
    expect(await manifestDigest({ url: b.url }, 'team/app', digest)).toBeUndefined();
  });

  it('a delete whose tag was moved at B meanwhile ends SKIPPED, and B keeps its tag at the other digest', async () => {
    const digest = await replicated('team/moved', 'v1');
    const other = await pushImage(`${b.host}/team/moved:v1`); // B has no notifications: no job
    expect(other.digest).not.toBe(digest);

    await deleteManifest(a, 'team/moved', digest);

    const jobs = await waitForJobs(crossdock, (all) => all.length >= 2 && allEnded(all), {
      query: query('team/moved'),
    });
    expect(jobs).toHaveLength(2);
    expect(deleteJob(jobs)).toMatchObject({ action: 'delete', status: 'SKIPPED', tag: 'v1', digest });
    expect(deleteJob(jobs)?.error).toBeUndefined();
    expect(await manifestDigest({ url: b.url }, 'team/moved', 'v1')).toBe(other.digest);
  });

  it('without replicateDeletes a delete at A makes no job and B keeps the image', async () => {
    const digest = await replicated('keep/app', 'v1');

    await deleteManifest(a, 'keep/app', digest);
    // The registry delivers the delete events in order, behind nothing else: once a later push's
    // job exists, the delete's events were handled.
    const marker = await pushImage(`${a.host}/keep/marker:v1`);
    await waitForJobs(crossdock, (all) => allEnded(all) && all.some((job) => job.digest === marker.digest), {
      query: query('keep/marker'),
    });

    const jobs = await waitForJobs(crossdock, allEnded, { query: query('keep/app') });
    expect(jobs.map((job) => job.action)).toEqual(['push']);
    expect(await manifestDigest({ url: b.url }, 'keep/app', 'v1')).toBe(digest);
  });
});
