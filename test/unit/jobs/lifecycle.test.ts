import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewJob, TerminalStatus } from '../../../functions/lib/jobs/job.ts';
import { JobLifecycle } from '../../../functions/lib/jobs/lifecycle.ts';
import type { JobMessage } from '../../../functions/lib/jobs/message.ts';
import { JobStore } from '../../../functions/lib/stores/jobs.ts';
import { LeaseStore } from '../../../functions/lib/stores/leases.ts';
import { TagLockStore } from '../../../functions/lib/stores/tag-locks.ts';
import { type LocalTable, startLocalTable } from '../stores/local-table.ts';

/** The job lifecycle on the real stores (in-process dynalite), the queue and the metrics recorded. */
let local: LocalTable;
let jobs: JobStore;
let locks: TagLockStore;
let leases: LeaseStore;
let lifecycle: JobLifecycle;
const sent: JobMessage[] = [];
const ended: TerminalStatus[] = [];
let counter = 0;

beforeAll(async () => {
  local = await startLocalTable();
  jobs = new JobStore(local.client, local.tableName);
  locks = new TagLockStore(local.client, local.tableName);
  leases = new LeaseStore(local.client, local.tableName);
  lifecycle = new JobLifecycle({
    records: jobs,
    locks,
    releaseLease: (jobId) => leases.release(jobId),
    enqueue: async (messages) => {
      sent.push(...messages);
    },
    onEnded: (status) => ended.push(status),
  });
});
afterAll(() => local.close());

/** Jobs for one fresh tag; each call a new job with the digest given. */
function tag() {
  const name = `t${++counter}`;
  let n = 0;
  const job = (digest: string, id = `${name}-${++n}`): NewJob => ({
    id,
    policy: 'p',
    action: 'push',
    sourceRegistry: 'a',
    sourceRepository: 'team/app',
    tag: name,
    digest,
    destinationRegistry: 'b',
    destinationRepository: 'team/app',
  });
  return { name, job };
}

const lease = (jobId: string) =>
  leases.acquire({ jobId, destination: 'b', globalLimit: 100, perDestinationLimit: 100, ttlSeconds: 60 });

describe('JobLifecycle', () => {
  it('queues a job that holds its tag; a newer digest waits and says for whom; the holder’s end hands the tag over and queues it', async () => {
    const { job } = tag();
    const first = await lifecycle.submit(job('sha256:1'));
    const second = await lifecycle.submit(job('sha256:2'));

    expect(first.enqueue).toBe(true);
    expect(second.enqueue).toBe(false);
    expect((await jobs.get(second.jobId))?.wait).toMatchObject({ reason: 'tag', holder: first.jobId });

    await lifecycle.end(first.jobId, 'SUCCEEDED');

    expect(sent.at(-1)).toEqual({ jobId: second.jobId, attempt: 1 });
    expect((await jobs.get(second.jobId))?.wait).toBeUndefined();
  });

  it('ends SKIPPED, through end, a job whose digest is already on its way and one a newer digest superseded', async () => {
    const { job } = tag();
    await lifecycle.submit(job('sha256:1'));
    const covered = await lifecycle.submit(job('sha256:1'));
    const older = await lifecycle.submit(job('sha256:2'));
    const before = ended.length;
    await lifecycle.submit(job('sha256:3'));

    expect((await jobs.get(covered.jobId))?.status).toBe('SKIPPED');
    expect(await jobs.get(older.jobId)).toMatchObject({ status: 'SKIPPED' });
    expect((await jobs.get(older.jobId))?.history.at(-1)?.note).toMatch(/^superseded by job /);
    expect(ended.slice(before)).toEqual(['SKIPPED']);
  });

  it('counts every final status once, whoever ends the job', async () => {
    const { job } = tag();
    const a = await lifecycle.submit(job('sha256:1'));
    const before = ended.length;

    expect(await lifecycle.end(a.jobId, 'FAILED', { error: { code: 'X', message: 'x' } })).toBe(true);
    expect(await lifecycle.end(a.jobId, 'SUCCEEDED')).toBe(false);

    expect(ended.slice(before)).toEqual(['FAILED']);
    expect((await jobs.get(a.jobId))?.status).toBe('FAILED');
  });

  it('cancels a QUEUED job at once (slot and tag freed, the next digest queued); a RUNNING one only gets the flag and keeps both', async () => {
    const { name, job } = tag();
    const queued = await lifecycle.submit(job('sha256:1'));
    const next = await lifecycle.submit(job('sha256:2'));
    await lease(queued.jobId);
    const before = ended.length;

    expect(await lifecycle.cancel(queued.jobId)).toMatchObject({
      status: 'CANCELLED',
      cancelRequested: true,
    });
    expect(ended.slice(before)).toEqual(['CANCELLED']);
    expect(await leases.renew(queued.jobId)).toBe(false);
    expect((await locks.get({ policy: 'p', repository: 'team/app', tag: name }))?.jobId).toBe(next.jobId);
    expect(sent.at(-1)).toEqual({ jobId: next.jobId, attempt: 1 });

    await jobs.markRunning(next.jobId, 1, 'arn:exec');
    await lease(next.jobId);
    expect(await lifecycle.cancel(next.jobId)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(await leases.renew(next.jobId)).toBe(true);
    expect((await locks.get({ policy: 'p', repository: 'team/app', tag: name }))?.jobId).toBe(next.jobId);
  });

  it('lets only the job’s own attempt end it: an older execution after a retry changes nothing', async () => {
    const { job } = tag();
    const a = await lifecycle.submit(job('sha256:1'));
    await lifecycle.end(a.jobId, 'FAILED');
    await lifecycle.retry(a.jobId);

    expect(await lifecycle.end(a.jobId, 'SUCCEEDED', { attempt: 1 })).toBe(false);
    expect(await jobs.get(a.jobId)).toMatchObject({ status: 'QUEUED', attempt: 2 });
    expect(sent.at(-1)).toEqual({ jobId: a.jobId, attempt: 2 });
  });
});
