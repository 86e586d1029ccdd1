import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewJob } from '../../../functions/lib/jobs/job.ts';
import { JobStore } from '../../../functions/lib/stores/jobs.ts';
import { TagLockStore } from '../../../functions/lib/stores/tag-locks.ts';
import { type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
let locks: TagLockStore;
let jobs: JobStore;
let tags = 0;

beforeAll(async () => {
  local = await startLocalTable();
  locks = new TagLockStore(local.client, local.tableName);
  jobs = new JobStore(local.client, local.tableName);
});
afterAll(() => local.close());

/** A fresh tag, and a helper recording a job for it and claiming its lock as the webhook does. */
function freshTag() {
  const ref = { policy: 'p', repository: 'team-a/app', tag: `v${++tags}` };
  const submit = async (id: string, digest: string, action: 'push' | 'delete' = 'push') => {
    const job: NewJob = {
      id,
      policy: ref.policy,
      action,
      sourceRegistry: 'hub-a',
      sourceRepository: ref.repository,
      tag: ref.tag,
      digest,
      destinationRegistry: 'dc-b',
      destinationRepository: ref.repository,
    };
    await jobs.create(job);
    return locks.claim({ ...ref, digest, action, jobId: id });
  };
  return { ref, submit };
}

describe('TagLockStore', () => {
  it('a lock held by an unfinished job is not claimed; its release hands over the newest digest', async () => {
    const { ref, submit } = freshTag();
    expect(await submit(`${ref.tag}-1`, 'sha256:d1')).toEqual({ claimed: true, fresh: true });
    await jobs.markRunning(`${ref.tag}-1`, 1, 'arn:exec');

    expect(await submit(`${ref.tag}-2`, 'sha256:d2')).toEqual({
      claimed: false,
      holder: `${ref.tag}-1`,
      waits: true,
    });
    // A third digest displaces the second: only the newest waits.
    expect(await submit(`${ref.tag}-3`, 'sha256:d3')).toEqual({
      claimed: false,
      holder: `${ref.tag}-1`,
      waits: true,
      displaced: `${ref.tag}-2`,
    });
    // The newest digest again is already covered by the job that waits with it.
    expect(await submit(`${ref.tag}-4`, 'sha256:d3')).toEqual({
      claimed: false,
      holder: `${ref.tag}-1`,
      waits: false,
    });

    await jobs.recordEnd(`${ref.tag}-1`, 'SUCCEEDED');
    expect(await locks.release({ ...ref, jobId: `${ref.tag}-1` })).toEqual({
      jobId: `${ref.tag}-3`,
      digest: 'sha256:d3',
      action: 'push',
    });
    expect(await locks.get(ref)).toMatchObject({ jobId: `${ref.tag}-3`, digest: 'sha256:d3' });
    // Releasing twice, or by a job that holds nothing, changes nothing.
    expect(await locks.release({ ...ref, jobId: `${ref.tag}-1` })).toBeUndefined();

    await jobs.recordEnd(`${ref.tag}-3`, 'SKIPPED');
    expect(await locks.release({ ...ref, jobId: `${ref.tag}-3` })).toBeUndefined();
    expect((await locks.get(ref))?.jobId).toBeUndefined();
  });

  it('claims are idempotent: the holder claims again (not a fresh claim), a waiting job stays waiting', async () => {
    const { ref, submit } = freshTag();
    await submit('h', 'sha256:a');
    await submit('w', 'sha256:b');
    expect(await locks.claim({ ...ref, digest: 'sha256:a', action: 'push', jobId: 'h' })).toEqual({
      claimed: true,
      fresh: false,
    });
    expect(await locks.claim({ ...ref, digest: 'sha256:b', action: 'push', jobId: 'w' })).toEqual({
      claimed: false,
      holder: 'h',
      waits: true,
    });
  });

  it('takes the lock from a holder that finished without releasing it', async () => {
    const { ref, submit } = freshTag();
    await submit(`${ref.tag}-old`, 'sha256:a');
    await submit(`${ref.tag}-waiting`, 'sha256:b');
    await jobs.recordEnd(`${ref.tag}-old`, 'FAILED');
    expect(await submit(`${ref.tag}-new`, 'sha256:c')).toEqual({
      claimed: true,
      fresh: true,
      displaced: `${ref.tag}-waiting`,
    });
  });

  it('a delete after a push waits as the newest action; a cancelled waiting job gives up its turn', async () => {
    const { ref, submit } = freshTag();
    await submit(`${ref.tag}-push`, 'sha256:a');
    expect(await submit(`${ref.tag}-delete`, 'sha256:a', 'delete')).toMatchObject({ waits: true });
    await jobs.recordEnd(`${ref.tag}-delete`, 'CANCELLED');
    expect(await locks.release({ ...ref, jobId: `${ref.tag}-delete` })).toBeUndefined();
    // The cancelled job's delete is not on its way any more: the same event again waits anew.
    expect(await submit(`${ref.tag}-delete-again`, 'sha256:a', 'delete')).toMatchObject({ waits: true });
    await jobs.recordEnd(`${ref.tag}-delete-again`, 'CANCELLED');
    await locks.release({ ...ref, jobId: `${ref.tag}-delete-again` });
    // The holder's own digest waits too: should the holder fail, it still gets replicated.
    expect(await submit(`${ref.tag}-push-again`, 'sha256:a')).toMatchObject({ waits: true });
    await jobs.recordEnd(`${ref.tag}-push`, 'FAILED');
    expect(await locks.release({ ...ref, jobId: `${ref.tag}-push` })).toEqual({
      jobId: `${ref.tag}-push-again`,
      digest: 'sha256:a',
      action: 'push',
    });
  });

  it('lets one of many concurrent claims on a free tag hold it', async () => {
    const { ref, submit } = freshTag();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => submit(`${ref.tag}-${i}`, `sha256:${i}`)),
    );
    expect(results.filter((result) => result.claimed)).toHaveLength(1);
    const lock = await locks.get(ref);
    const holder = results.findIndex((result) => result.claimed);
    expect(lock?.jobId).toBe(`${ref.tag}-${holder}`);
    // Exactly one job still waits: every other one was displaced by a later claim.
    const displaced = results.flatMap((result) =>
      'displaced' in result && result.displaced ? [result.displaced] : [],
    );
    expect(new Set(displaced).size).toBe(results.length - 2);
    expect(lock?.waitingJobId).toBeDefined();
    expect(displaced).not.toContain(lock?.waitingJobId);
  });
});
