import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEnded, type CrossdockProcess, type JobView, waitForJobs } from '../support/crossdock-process.ts';
import { pushImage } from '../support/image-builder.ts';
import { type Mirror, startMirror } from '../support/mirror.ts';
import { removeTag, type TestRegistry } from '../support/registry-process.ts';
import { deleteManifest, listTags, manifestDigest, tagImage } from '../support/registry-reader.ts';
import { hookSecret, replicationPolicy } from '../support/serve-config.ts';
import { distributionDelete, distributionEnvelope, postNotification } from '../support/webhook-payloads.ts';

/**
 * A delete at the source reaches the destination through the source's own notifications
 * (distribution sends `{digest}` then one `{tag}` event per tag), but only while the
 * destination's tag still points at the digest deleted at the source, the source has no such
 * tag now, and no other tag the source still has shares the digest (distribution deletes by
 * digest: every tag on it goes).
 */

const query = (repository: string) => `repository=${encodeURIComponent(repository)}`;
const pushJob = (jobs: JobView[]) => jobs.find((job) => job.action === 'push');
const deleteJob = (jobs: JobView[]) => jobs.find((job) => job.action === 'delete');
/** Why a job ended as it did: the note of its last history entry. */
const endNote = (job: JobView | undefined) => job?.history.at(-1)?.note;

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

  /**
   * Posts the delete of `repository:tag` as A's notifications carry a tag delete (distribution
   * v3 sends one for `DELETE /v2/<name>/manifests/<tag>`; the v2 registry here cannot delete a
   * tag alone, so the test removes it in A's storage and sends the event itself).
   */
  async function tagDeletedAtA(repository: string, tag: string): Promise<void> {
    const body = distributionEnvelope(distributionDelete({ repository, tag }));
    const answer = await postNotification(`${crossdock.url}/webhooks/a`, body, hookSecret('a'));
    expect(answer.status).toBeLessThan(300);
  }

  it('a tag deleted at A whose digest five more tags at A share: the delete is SKIPPED and B keeps those five', async () => {
    const others = ['t2', 't3', 't4', 't5', 't6'];
    const image = await pushImage(`${a.host}/team/six:t1`);
    await tagImage({ url: a.url }, 'team/six', 't1', others);
    const pushed = await waitForJobs(crossdock, (all) => all.length === 6 && allEnded(all), {
      query: query('team/six'),
    });
    // Failed once in ~20 runs on 2026-11-30 (B lacked t1 with six jobs ended), and on 2026-12-01
    // with t2's job FAILED on MANIFEST_UNKNOWN: distribution sends the push event before it links
    // the tag, and FetchManifest read the tag first (docs/architecture.md; fetchAnnouncedManifest
    // reads it again now). The jobs' states go with a failure.
    const history = pushed.map(
      (job) =>
        `${job.tag} ${job.status} ${job.digest ?? ''} ${job.error?.message ?? ''}: ${job.history.map((e) => `${e.status}/${e.substate ?? ''}${e.note ? ` (${e.note})` : ''}@${e.at}`).join(' ')}`,
    );
    expect((await listTags({ url: b.url }, 'team/six')).sort(), history.join('\n')).toEqual([
      't1',
      ...others,
    ]);

    removeTag(a, 'team/six', 't1');
    await tagDeletedAtA('team/six', 't1');

    const jobs = await waitForJobs(crossdock, (all) => all.length === 7 && allEnded(all), {
      query: query('team/six'),
    });
    expect(deleteJob(jobs)).toMatchObject({ status: 'SKIPPED', tag: 't1', digest: image.digest });
    expect(endNote(deleteJob(jobs))).toBe(
      'not deleted: digest-shared-by-tags: t2, t3, t4, t5, t6 (still at the source; deleting the digest would remove them too)',
    );
    for (const tag of others)
      expect(await manifestDigest({ url: b.url }, 'team/six', tag)).toBe(image.digest);
  });

  it('a delete event arriving after the tag was pushed again at A is SKIPPED, and B keeps the tag', async () => {
    const digest = await replicated('team/again', 'v1');
    removeTag(a, 'team/again', 'v1'); // deleted at A; its event comes late
    await tagImage({ url: a.url }, 'team/again', digest, ['v1']); // pushed again at A
    await waitForJobs(crossdock, (all) => all.length === 2 && allEnded(all), { query: query('team/again') });

    await tagDeletedAtA('team/again', 'v1');

    const jobs = await waitForJobs(crossdock, (all) => all.length === 3 && allEnded(all), {
      query: query('team/again'),
    });
    expect(deleteJob(jobs)).toMatchObject({ status: 'SKIPPED', tag: 'v1', digest });
    expect(endNote(deleteJob(jobs))).toBe(
      `not deleted: tag-exists-at-source: the source has the tag again (${digest})`,
    );
    expect(await manifestDigest({ url: b.url }, 'team/again', 'v1')).toBe(digest);
  });
});
