import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExistsError, JobNotFoundError, JobTransitionError } from '../../../functions/lib/jobs/errors.ts';
import { HISTORY_LIMIT } from '../../../functions/lib/jobs/job.ts';
import { InvalidCursorError } from '../../../functions/lib/stores/errors.ts';
import { newJobId } from '../../../functions/lib/stores/job-ids.ts';
import { jobKey, toItem } from '../../../functions/lib/stores/job-record.ts';
import { JobStore } from '../../../functions/lib/stores/jobs.ts';
import { newJob } from '../../support/jobs.ts';
import { countingClient, type LocalTable, observedClient, startLocalTable } from './local-table.ts';

let local: LocalTable;
let now = Date.parse('2025-01-01T00:00:00Z');
let jobs: JobStore;

beforeAll(async () => {
  local = await startLocalTable();
  // Each reading of the clock is a millisecond later, so creation order is listing order.
  jobs = new JobStore(local.client, local.tableName, { now: () => now++ });
});
afterAll(() => local.close());

describe('job ids', () => {
  it('sort by creation time and are 26 characters of Crockford base32', () => {
    const earlier = newJobId(1_700_000_000_000);
    const later = newJobId(1_700_000_000_001);
    expect(earlier).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(earlier < later).toBe(true);
  });
});

describe.each([
  { mode: 'reading the table', soleWriter: false },
  { mode: 'as the sole writer', soleWriter: true },
])('JobStore, $mode', ({ soleWriter }) => {
  let jobs: JobStore;
  beforeAll(() => {
    jobs = new JobStore(local.client, local.tableName, { now: () => now++, soleWriter });
  });

  it('records a new job as QUEUED at attempt 1, once', async () => {
    const id = `job-once-${soleWriter}`;
    const created = await jobs.create(newJob({ id }));
    expect(created).toMatchObject({ id, status: 'QUEUED', attempt: 1, cancelRequested: false });
    expect(await jobs.get(id)).toEqual(created);
    await expect(jobs.create(newJob({ id }))).rejects.toBeInstanceOf(JobExistsError);
    expect(await jobs.get('missing')).toBeUndefined();
  });

  it('gives a job without an id a sortable one', async () => {
    const job = await jobs.create(newJob());
    expect(job.id).toHaveLength(26);
  });

  it('marks a job RUNNING for its attempt; the same execution again changes nothing; a stale one conflicts', async () => {
    const { id } = await jobs.create(newJob());
    const running = await jobs.markRunning(id, 1, 'arn:exec:1');
    expect(running).toMatchObject({ status: 'RUNNING', attempt: 1, executionArn: 'arn:exec:1' });
    expect(await jobs.markRunning(id, 1, 'arn:exec:1')).toEqual(running);
    await expect(jobs.markRunning(id, 1, 'arn:exec:other')).rejects.toBeInstanceOf(JobTransitionError);
    // A newer attempt takes over a RUNNING record its older execution left behind.
    expect(await jobs.markRunning(id, 2, 'arn:exec:2')).toMatchObject({ status: 'RUNNING', attempt: 2 });
    await expect(jobs.markRunning('missing', 1, 'arn')).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('records substates once each in the history and adds up progress from concurrent tasks', async () => {
    const { id } = await jobs.create(newJob());
    await jobs.markRunning(id, 1, 'arn:exec');
    expect(await jobs.setSubstate(id, 'FetchManifest')).toBe(true);
    await Promise.all(
      Array.from({ length: 10 }, () => jobs.setSubstate(id, 'MountOrCopyBlobs', { copied: 1, bytes: 100 })),
    );
    await jobs.setSubstate(id, 'CheckBlob', { present: 2, mounted: 1 });
    const job = await jobs.get(id);
    expect(job).toMatchObject({
      substate: 'CheckBlob',
      blobs: { copied: 10, mounted: 1, present: 2 },
      bytesCopied: 1000,
    });
    expect(job?.history.map((entry) => entry.substate ?? entry.status)).toEqual([
      'QUEUED',
      'RUNNING',
      'FetchManifest',
      'MountOrCopyBlobs',
      'CheckBlob',
    ]);
  });

  it('enters a substate in one write for the running attempt, and refuses one it cannot take', async () => {
    const { id } = await jobs.create(newJob());
    expect(await jobs.enterSubstate(id, 1, 'FetchManifest')).toBeUndefined(); // not RUNNING yet
    await jobs.markRunning(id, 1, 'arn:exec');

    const entered = await jobs.enterSubstate(id, 1, 'FetchManifest');

    expect(entered).toMatchObject({ status: 'RUNNING', attempt: 1, substate: 'FetchManifest' });
    expect(entered?.history.at(-1)).toMatchObject({
      status: 'RUNNING',
      substate: 'FetchManifest',
      attempt: 1,
    });
    // The same substate again (a second blob, a next chunk): answered, with no second entry.
    const again = await jobs.enterSubstate(id, 1, 'FetchManifest');
    expect(again).toMatchObject({ substate: 'FetchManifest' });
    expect(again?.history.filter((entry) => entry.substate === 'FetchManifest')).toHaveLength(1);
    expect(await jobs.enterSubstate(id, 2, 'CheckManifest')).toBeUndefined(); // another attempt
    await jobs.requestCancel(id);
    expect(await jobs.enterSubstate(id, 1, 'CheckManifest')).toBeUndefined(); // cancel requested
    expect((await jobs.get(id))?.substate).toBe('FetchManifest');
  });

  it('enters a substate passing another on the way in one write: both in the history, in order, at one time', async () => {
    const { id } = await jobs.create(newJob());
    await jobs.markRunning(id, 1, 'arn:exec', 'CheckManifest');
    const { client, sent } = countingClient(local.client);
    const counted = new JobStore(client, local.tableName, { now: () => now++ });

    await counted.setSubstate(
      id,
      'MountOrCopyBlobs',
      { present: 2 },
      { attempt: 1, substate: 'CheckManifest' },
      { passing: 'CheckBlobs' },
    );

    expect(sent('UpdateCommand')).toBe(1);
    // Read from the table: the counted store wrote behind the back of a sole writer's copy.
    const job = await new JobStore(local.client, local.tableName).get(id);
    expect(job).toMatchObject({ substate: 'MountOrCopyBlobs', blobs: { present: 2 } });
    const [checked, copying] = job?.history.slice(-2) ?? [];
    expect(checked).toMatchObject({ status: 'RUNNING', substate: 'CheckBlobs', attempt: 1 });
    expect(copying).toMatchObject({ status: 'RUNNING', substate: 'MountOrCopyBlobs', attempt: 1 });
    expect(checked?.at).toBe(copying?.at);
  });

  it('takes the current substate again in one write when told there is no entry to add', async () => {
    const { id } = await jobs.create(newJob());
    await jobs.markRunning(id, 1, 'arn:exec', 'MountOrCopyBlobs');
    const before = (await jobs.get(id))?.history.length;
    const { client, sent } = countingClient(local.client);
    const counted = new JobStore(client, local.tableName, { now: () => now++ });

    const entered = await counted.enterSubstate(id, 1, 'MountOrCopyBlobs', { entry: false });

    expect(entered).toMatchObject({ substate: 'MountOrCopyBlobs' });
    expect(entered?.history).toHaveLength(before ?? -1);
    expect(sent('UpdateCommand')).toBe(1);
    await counted.requestCancel(id);
    expect(await counted.enterSubstate(id, 1, 'MountOrCopyBlobs', { entry: false })).toBeUndefined();
  });

  it('keeps what each unfinished lane left, lanes writing side by side, for their next invocations', async () => {
    const { id } = await jobs.create(newJob());
    const upload = { digest: 'sha256:abc', location: '/v2/x/blobs/uploads/1', offset: 64 };
    const lane = (n: number) => ({ started: 's1', blobs: [`sha256:${n}`], upload: { ...upload, offset: n } });

    // The first lanes of a job find no map to write into: one makes it, the others then set their entry.
    await Promise.all([0, 1, 2, 3].map((index) => jobs.keepLane(id, index, lane(index))));
    await jobs.keepLane(id, 1, { started: 's1', blobs: [] });

    expect((await jobs.get(id))?.lanes).toEqual({
      0: lane(0),
      1: { started: 's1', blobs: [] },
      2: lane(2),
      3: lane(3),
    });
    await expect(jobs.keepLane('missing', 0, lane(0))).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('reads a record of one open upload per job, from before the lanes kept theirs, without it', async () => {
    const { id } = await jobs.create(newJob());
    await local.client.send(
      new UpdateCommand({
        TableName: local.tableName,
        Key: jobKey(id),
        UpdateExpression: 'SET upload = :upload',
        ExpressionAttributeValues: {
          ':upload': { digest: 'sha256:a', location: '/v2/x/blobs/uploads/1', offset: 1 },
        },
      }),
    );

    expect(await jobs.get(id)).not.toHaveProperty('upload');
  });

  it('a terminal job never changes state again', async () => {
    const { id } = await jobs.create(newJob());
    await jobs.markRunning(id, 1, 'arn:exec');
    expect(await jobs.recordEnd(id, 'SUCCEEDED', { stats: { copied: 3, bytesCopied: 42 } })).toBe(true);
    const finished = await jobs.get(id);
    expect(finished).toMatchObject({ status: 'SUCCEEDED', blobs: { copied: 3 }, bytesCopied: 42 });
    expect(finished?.finishedAt).toBeDefined();

    expect(await jobs.recordEnd(id, 'FAILED', { error: { code: 'X', message: 'late' } })).toBe(false);
    await expect(jobs.markRunning(id, 1, 'arn:exec')).rejects.toBeInstanceOf(JobTransitionError);
    await expect(jobs.markRunning(id, 2, 'arn:exec:2')).rejects.toBeInstanceOf(JobTransitionError);
    expect(await jobs.setSubstate(id, 'PushManifest', { copied: 1 })).toBe(false);
    expect((await jobs.requestCancel(id)).status).toBe('SUCCEEDED');
    await expect(jobs.retry(id)).rejects.toBeInstanceOf(JobTransitionError);
    expect(await jobs.get(id)).toEqual(finished);
  });

  it('finishes concurrently only once', async () => {
    const { id } = await jobs.create(newJob());
    await jobs.markRunning(id, 1, 'arn:exec');
    const outcomes = await Promise.all([
      jobs.recordEnd(id, 'SUCCEEDED'),
      jobs.recordEnd(id, 'FAILED', { error: { code: 'ExecutionFailed', message: 'x' } }),
      jobs.recordEnd(id, 'CANCELLED'),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  it('ends a job only from the statuses it is asked to end it from (a cancel ends only a QUEUED job)', async () => {
    const queued = await jobs.create(newJob());
    const cancel = { from: ['QUEUED'] as const, cancelRequested: true, note: 'cancelled before it started' };
    expect(await jobs.recordEnd(queued.id, 'CANCELLED', cancel)).toBe(true);
    const cancelled = await jobs.get(queued.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
    expect(cancelled?.history.at(-1)?.note).toBe('cancelled before it started');

    const running = await jobs.create(newJob());
    await jobs.markRunning(running.id, 1, 'arn:exec');
    expect(await jobs.recordEnd(running.id, 'CANCELLED', cancel)).toBe(false);
    expect(await jobs.get(running.id)).toMatchObject({ status: 'RUNNING', cancelRequested: false });
  });

  it('flags a running job’s cancel, once; a finished job keeps its status', async () => {
    const running = await jobs.create(newJob());
    await jobs.markRunning(running.id, 1, 'arn:exec');
    expect(await jobs.isCancelRequested(running.id)).toBe(false);
    expect(await jobs.requestCancel(running.id)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(await jobs.isCancelRequested(running.id)).toBe(true);
    const flagged = (await jobs.get(running.id))?.history.length;
    await jobs.requestCancel(running.id);
    expect((await jobs.get(running.id))?.history.length).toBe(flagged);
  });

  it('records why a QUEUED job waits, once per reason, and forgets it when the job moves', async () => {
    const job = await jobs.create(newJob());
    const since = '2025-01-01T00:00:00.000Z';
    await jobs.setWait(job.id, { reason: 'slot', since });
    await jobs.setWait(job.id, { reason: 'slot', since: '2025-01-01T00:00:09.000Z' });
    const waiting = await jobs.get(job.id);
    expect(waiting?.wait).toEqual({ reason: 'slot', since });
    expect(waiting?.history.filter((entry) => entry.note === 'waits for a running slot')).toHaveLength(1);

    await jobs.markRunning(job.id, 1, 'arn:exec');
    expect((await jobs.get(job.id))?.wait).toBeUndefined();
    await jobs.setWait(job.id, { reason: 'tag', since, holder: 'other' }); // RUNNING: not waiting
    expect((await jobs.get(job.id))?.wait).toBeUndefined();
  });

  it('retry queues a failed job again with the attempt incremented and its run cleared', async () => {
    const { id } = await jobs.create(newJob());
    await jobs.markRunning(id, 1, 'arn:exec:1');
    await jobs.setSubstate(id, 'CopyBlobs', { copied: 2 });
    await jobs.recordEnd(id, 'FAILED', {
      error: { code: 'RegistryUnavailableError', message: '503', state: 'CopyBlobs' },
    });
    const retried = await jobs.retry(id);
    expect(retried).toMatchObject({ status: 'QUEUED', attempt: 2, blobs: { copied: 0 }, bytesCopied: 0 });
    expect(retried.error).toBeUndefined();
    expect(retried.executionArn).toBeUndefined();
    // The first attempt's execution is stale now; the second runs.
    await expect(jobs.markRunning(id, 1, 'arn:exec:1')).rejects.toBeInstanceOf(JobTransitionError);
    expect(await jobs.markRunning(id, 2, 'arn:exec:2')).toMatchObject({ status: 'RUNNING', attempt: 2 });
    await expect(jobs.retry(id)).rejects.toBeInstanceOf(JobTransitionError);
  });

  it(`caps the history at ${HISTORY_LIMIT} entries, keeping the newest`, async () => {
    const { id } = await jobs.create(newJob());
    await jobs.markRunning(id, 1, 'arn:exec');
    for (let i = 0; i < HISTORY_LIMIT + 5; i++)
      await jobs.setSubstate(id, i % 2 === 0 ? 'CheckBlob' : 'MountOrCopyBlobs');
    await jobs.recordEnd(id, 'SUCCEEDED');
    const { history = [] } = (await jobs.get(id)) ?? {};
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history.at(-1)?.status).toBe('SUCCEEDED');
  });
});

describe('JobStore as the sole writer', () => {
  const soleWriter = (client = local.client) =>
    new JobStore(client, local.tableName, { now: () => now++, soleWriter: true });

  it('reads an unfinished job from what it wrote: a job driven to its end costs one read, after it ended', async () => {
    const { client, sent } = countingClient(local.client);
    const store = soleWriter(client);
    const { id } = await store.create(newJob());
    await store.markRunning(id, 1, 'arn:exec');
    await store.enterSubstate(id, 1, 'FetchManifest');
    await store.setSubstate(id, 'CheckBlobs', { present: 2 });
    await store.keepLane(id, 0, {
      started: 's1',
      blobs: ['sha256:a'],
      upload: { digest: 'sha256:a', location: '/v2/upload/1', offset: 5 },
    });
    const running = await store.get(id);
    expect(sent('GetCommand')).toBe(0);
    expect(running).toEqual(await new JobStore(local.client, local.tableName).get(id));

    await store.recordEnd(id, 'SUCCEEDED');
    expect(await store.get(id)).toMatchObject({ status: 'SUCCEEDED' });
    // A final job is not kept: the sweeper deletes it behind the store's back.
    expect(sent('GetCommand')).toBe(1);
  });

  it('hands out copies: a caller that changes its job changes nothing kept', async () => {
    const store = soleWriter();
    const { id } = await store.create(newJob());
    const job = (await store.get(id)) as NonNullable<Awaited<ReturnType<JobStore['get']>>>;
    job.status = 'FAILED';
    job.history.push({ at: 'then', status: 'FAILED', attempt: 1 });
    expect(await store.get(id)).toMatchObject({ status: 'QUEUED', history: [{ status: 'QUEUED' }] });
  });

  it('does not bring an ended job back from a read answered after its end', async () => {
    const { id } = await new JobStore(local.client, local.tableName).create(newJob());
    await new JobStore(local.client, local.tableName).markRunning(id, 1, 'arn:exec');
    // The first read of the job is held until the job has ended (the records answer in any order).
    let letRead: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      letRead = resolve;
    });
    let reads = 0;
    const client = new Proxy(local.client, {
      get: (target, property) =>
        property === 'send'
          ? async (command: { constructor: { name: string } }) => {
              const answer = target.send(command as never);
              if (command.constructor.name === 'GetCommand' && ++reads === 1) await held;
              return answer;
            }
          : Reflect.get(target, property),
    });
    const store = soleWriter(client);

    const early = store.get(id);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the read is answered by now, and held
    expect(await store.recordEnd(id, 'SUCCEEDED')).toBe(true);
    letRead();

    expect(await early).toMatchObject({ status: 'RUNNING' });
    expect(await store.get(id)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('decides a status change on the table’s job when another writer changed it behind its back', async () => {
    const store = soleWriter();
    const { id } = await store.create(newJob());
    await store.markRunning(id, 1, 'arn:exec');
    // Not what the local runtime does (it is the only writer), but what the kept job must survive.
    await new JobStore(local.client, local.tableName).requestCancel(id);

    expect(await store.recordEnd(id, 'CANCELLED')).toBe(true);
    const ended = await new JobStore(local.client, local.tableName).get(id);
    expect(ended).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
  });
});

describe('JobStore listings', () => {
  it('pages through a policy newest first with an opaque cursor', async () => {
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await jobs.create(newJob({ policy: 'p-pages' })));
    const newestFirst = created.map((job) => job.id).reverse();

    const first = await jobs.listByPolicy('p-pages', { limit: 3 });
    const second = await jobs.listByPolicy('p-pages', { limit: 3, cursor: first.cursor });
    const third = await jobs.listByPolicy('p-pages', { limit: 3, cursor: second.cursor });
    expect([first, second, third].map((page) => page.jobs.length)).toEqual([3, 3, 1]);
    expect(third.cursor).toBeUndefined();
    expect([...first.jobs, ...second.jobs, ...third.jobs].map((job) => job.id)).toEqual(newestFirst);

    await expect(jobs.listByPolicy('p-pages', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
    await expect(jobs.listByPolicy('other', { cursor: first.cursor })).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
  });

  it('filters a policy by status across pages and lists by status', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) {
      const job = await jobs.create(newJob({ policy: 'p-status' }));
      if (i % 2 === 0) await jobs.recordEnd(job.id, 'CANCELLED');
      ids.push(job.id);
    }
    const cancelled = [ids[4], ids[2], ids[0]];
    const first = await jobs.listByPolicy('p-status', { limit: 2, status: 'CANCELLED' });
    const rest = await jobs.listByPolicy('p-status', { limit: 2, status: 'CANCELLED', cursor: first.cursor });
    expect([...first.jobs, ...rest.jobs].map((job) => job.id)).toEqual(cancelled);
    expect(rest.cursor).toBeUndefined();

    const byStatus = await jobs.listByStatus('CANCELLED', { limit: 100 });
    expect(byStatus.jobs.map((job) => job.id)).toEqual(expect.arrayContaining(cancelled));
    expect(byStatus.jobs.every((job) => job.status === 'CANCELLED')).toBe(true);
  });

  it('orphaned index entries are dropped from listings', async () => {
    // What a crash between an item write and its index write leaves: the index still files the
    // job under RUNNING while the item says SUCCEEDED.
    const job = await jobs.create(newJob({ policy: 'p-orphan' }));
    const item = toItem({ ...job, status: 'SUCCEEDED' }, 7);
    await local.client.send(
      new PutCommand({ TableName: local.tableName, Item: { ...item, gsi2pk: 'status#RUNNING' } }),
    );
    const running = await jobs.listByStatus('RUNNING', { limit: 100 });
    expect(running.jobs.map((j) => j.id)).not.toContain(job.id);
    expect((await jobs.listUnfinished()).map((j) => j.id)).not.toContain(job.id);
    const byPolicy = await jobs.listByPolicy('p-orphan', { status: 'RUNNING' });
    expect(byPolicy.jobs).toEqual([]);
  });

  it('lists the unfinished jobs, queued and running, for a restart', async () => {
    const queued = await jobs.create(newJob({ policy: 'p-restart' }));
    const running = await jobs.create(newJob({ policy: 'p-restart' }));
    await jobs.markRunning(running.id, 1, 'arn:exec');
    const done = await jobs.create(newJob({ policy: 'p-restart' }));
    await jobs.recordEnd(done.id, 'SKIPPED');
    const unfinished = await jobs.listUnfinished();
    const ids = unfinished.map((job) => job.id);
    expect(ids).toEqual(expect.arrayContaining([queued.id, running.id]));
    expect(ids).not.toContain(done.id);
    expect(unfinished.every((job) => job.status === 'QUEUED' || job.status === 'RUNNING')).toBe(true);
    expect(ids.indexOf(running.id)).toBeLessThan(ids.indexOf(queued.id));
  });
});

describe('the index keys a job’s writes move (the cost model, docs/performance.md)', () => {
  it('moves them when the job is created and when its status changes, never with its substates, progress or open upload', async () => {
    // With keys-only indexes, DynamoDB writes an index only for a write that moves its keys.
    const id = 'job-index-writes';
    const writes: { command: string; moved: boolean }[] = [];
    let keys: string | undefined;
    const indexKeys = async () => {
      const { Item } = await local.client.send(
        new GetCommand({ TableName: local.tableName, Key: jobKey(id), ConsistentRead: true }),
      );
      return JSON.stringify([Item?.gsi1pk, Item?.gsi1sk, Item?.gsi2pk, Item?.gsi2sk]);
    };
    const watching = observedClient(local.client, async (command) => {
      if (command !== 'PutCommand' && command !== 'UpdateCommand') return;
      const now = await indexKeys();
      writes.push({ command, moved: now !== keys });
      keys = now;
    });
    const store = new JobStore(watching, local.tableName, { now: () => now++ });

    await store.create(newJob({ id }));
    const running = await store.markRunning(id, 1, 'arn:exec:index-writes', 'FetchManifest');
    await store.setSubstate(id, 'CheckManifest', {}, running);
    await store.setSubstate(
      id,
      'MountOrCopyBlobs',
      { present: 2 },
      { attempt: 1, substate: 'CheckManifest' },
      { passing: 'CheckBlobs' },
    );
    await store.enterSubstate(id, 1, 'MountOrCopyBlobs', { entry: false });
    await store.keepLane(id, 1, {
      started: 's1',
      blobs: ['sha256:big'],
      upload: { digest: 'sha256:big', location: 'http://b/v2/x/blobs/uploads/1', offset: 64 },
    });
    await store.setSubstate(
      id,
      'MountOrCopyBlobs',
      { copied: 1, bytes: 128 },
      { attempt: 1, substate: 'MountOrCopyBlobs' },
    );
    await store.keepLane(id, 1, { started: 's1', blobs: [] });
    await store.setSubstate(id, 'PushManifest', {}, { attempt: 1, substate: 'MountOrCopyBlobs' });
    await store.recordEnd(id, 'SUCCEEDED');

    expect(writes.length).toBeGreaterThanOrEqual(10);
    const moving = writes.flatMap((write, i) => (write.moved ? [i] : []));
    // The creation (both indexes), RUNNING and SUCCEEDED (the by-status entry): nothing between.
    expect(moving).toEqual([0, 1, writes.length - 1]);
  });
});
