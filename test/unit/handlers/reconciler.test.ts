import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '../../../functions/lib/jobs/job.ts';
import { reconcile } from '../../../functions/lib/reconcile/reconcile.ts';
import { handler as reconciler } from '../../../functions/reconciler/handler.ts';
import { DIGEST_A } from '../events/fixtures.ts';
import { lambdaContext, type Pipeline, startPipelineToB } from './pipeline-fixture.ts';

/**
 * The reconciler on the real stores (in-process dynalite), the queue recorded and the
 * executions' status as DescribeExecution would answer it: it drives on what is lost, and never
 * touches what waits by design.
 */

let pipeline: Pipeline;
let tags = 0;

beforeEach(async () => {
  pipeline = await startPipelineToB();
});
afterEach(() => pipeline.close());

async function submit(tag = `v${++tags}`, digest = DIGEST_A): Promise<Job> {
  const submitted = await pipeline.app.lifecycle.submit({
    policy: 'to-b',
    action: 'push',
    sourceRegistry: 'hub-a',
    sourceRepository: 'team-a/app',
    tag,
    digest,
    destinationRegistry: 'dc-b',
    destinationRepository: 'team-a/app',
  });
  return (await pipeline.app.jobs.get(submitted.jobId)) as Job;
}

/** Every job counts as stale: the reconciler looks at all of them. */
const now = () => reconcile(pipeline.app.reconcilePorts, { staleAfterMs: 0, tooLongMs: 60 * 60_000 });
const sentFor = (job: Job) => pipeline.sent.filter((message) => message.body.jobId === job.id).length;
/** The job takes a running slot, as the dispatcher does before it starts the execution. */
const holdSlots = (job: Job) =>
  pipeline.app.leases.acquire({
    jobId: job.id,
    destination: 'dc-b',
    globalLimit: 10,
    perDestinationLimit: 4,
    ttlSeconds: 3600,
  });

describe('the reconciler', () => {
  it('sends again a QUEUED job whose message was lost, and notes it; a fresh one it leaves alone', async () => {
    const lost = await submit();
    const before = sentFor(lost);

    const fresh = await reconcile(pipeline.app.reconcilePorts, { staleAfterMs: 60_000, tooLongMs: 60_000 });
    expect(fresh.resent).toBe(0);

    const result = await now();
    expect(result.resent).toBe(1);
    expect(sentFor(lost)).toBe(before + 1);
    expect((await pipeline.app.jobs.get(lost.id))?.history.at(-1)?.note).toMatch(
      /^the reconciler sent it again: its message was lost$/,
    );
  });

  it('never sends a job that waits for a slot, or behind a holder that still runs', async () => {
    // dc-b's four slots are taken by jobs that run: the parked job's wait is by design.
    for (let i = 0; i < 4; i++) {
      const running = await submit();
      await pipeline.app.jobs.markRunning(running.id, 1, `arn:exec:busy${i}`);
      pipeline.executionStates.set(`arn:exec:busy${i}`, { status: 'RUNNING' });
      await holdSlots(running);
    }
    const waitingForSlot = await submit();
    await pipeline.app.dispatchPorts.park(waitingForSlot);
    const holder = await submit('shared', 'sha256:'.padEnd(71, '1'));
    await pipeline.app.jobs.markRunning(holder.id, 1, 'arn:exec:holder');
    pipeline.executionStates.set('arn:exec:holder', { status: 'RUNNING' });
    const behind = await submit('shared', 'sha256:'.padEnd(71, '2'));
    expect((await pipeline.app.jobs.get(behind.id))?.wait).toMatchObject({
      reason: 'tag',
      holder: holder.id,
    });
    const before = [sentFor(waitingForSlot), sentFor(behind)];

    const result = await now();

    expect(result).toMatchObject({ resent: 0, finalized: 0, redriven: 0, admitted: 0 });
    expect([sentFor(waitingForSlot), sentFor(behind)]).toEqual(before);
  });

  it('sends a job taken out of line for a slot whose wake-up message was lost', async () => {
    const woken = await submit();
    await pipeline.app.dispatchPorts.park(woken);
    await pipeline.app.dispatchPorts.unpark(woken); // the waker took it out of line, then its send failed

    const result = await now();

    expect(result.resent).toBe(1);
    expect(sentFor(woken)).toBe(1);
  });

  it('admits parked jobs into free slots, a wake-up lost with its process', async () => {
    const parked = await submit();
    await pipeline.app.dispatchPorts.park(parked);

    const result = await now();

    expect(result.admitted).toBe(1);
    expect(pipeline.sent.at(-1)?.body).toEqual({ jobId: parked.id, attempt: 1, woken: true, policy: 'to-b' });
  });

  it('sends a job whose holder ended but whose handover was never sent', async () => {
    const holder = await submit('handover', 'sha256:'.padEnd(71, '3'));
    const behind = await submit('handover', 'sha256:'.padEnd(71, '4'));
    // The holder's end was written, and the process died before the tag was handed over.
    await pipeline.app.jobs.recordEnd(holder.id, 'SUCCEEDED');

    const result = await now();

    expect(result.resent).toBe(1);
    expect(sentFor(behind)).toBe(1);
    expect(
      (await pipeline.app.locks.get({ policy: 'to-b', repository: 'team-a/app', tag: 'handover' }))?.jobId,
    ).toBe(behind.id);
  });

  it('ends a RUNNING job as its execution ended when no Record state did, and drives on one whose execution is gone', async () => {
    const failed = await submit();
    await pipeline.app.jobs.markRunning(failed.id, 1, 'arn:exec:failed');
    pipeline.executionStates.set('arn:exec:failed', {
      status: 'FAILED',
      error: 'States.Runtime',
      cause: 'boom',
    });
    const aborted = await submit();
    await pipeline.app.jobs.markRunning(aborted.id, 1, 'arn:exec:aborted');
    pipeline.executionStates.set('arn:exec:aborted', { status: 'ABORTED' });
    const gone = await submit();
    await pipeline.app.jobs.markRunning(gone.id, 1, 'arn:exec:gone');
    const running = await submit();
    await pipeline.app.jobs.markRunning(running.id, 1, 'arn:exec:running');
    pipeline.executionStates.set('arn:exec:running', { status: 'RUNNING' });

    const result = await now();

    expect(result).toMatchObject({ finalized: 2, redriven: 1 });
    expect(await pipeline.app.jobs.get(failed.id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'ExecutionFailed', message: 'States.Runtime: boom' },
    });
    expect((await pipeline.app.jobs.get(aborted.id))?.status).toBe('CANCELLED');
    expect(sentFor(gone)).toBe(1); // sent again by the reconciler
    expect((await pipeline.app.jobs.get(running.id))?.status).toBe('RUNNING');
  });

  it('frees the running slots of jobs that ended, also those its lease record never listed', async () => {
    const ended = await submit();
    await holdSlots(ended);
    await pipeline.app.jobs.recordEnd(ended.id, 'SUCCEEDED'); // its end never freed the slots
    const live = await submit();
    await holdSlots(live);
    // A slot taken by a job that died before it recorded its lease: no lease record lists it.
    // (A free one: the others' slots were picked at random.)
    const orphan = await submit();
    const taken = new Set((await pipeline.app.leases.slots([])).map((slot) => slot.sk));
    const free = Array.from({ length: 10 }, (_, k) => `slot#${k}`).find((sk) => !taken.has(sk));
    await pipeline.app.dynamo.send(
      new PutCommand({
        TableName: pipeline.app.settings.tableName,
        Item: { pk: 'lease#global', sk: free, jobId: orphan.id, expiresAt: Date.now() / 1000 + 3600 },
      }),
    );
    await pipeline.app.jobs.recordEnd(orphan.id, 'FAILED');

    const result = await now();

    expect(result.slotsFreed).toBe(2);
    expect(await pipeline.app.leases.countActive()).toBe(1);
    expect(await pipeline.app.leases.countActive('dc-b')).toBe(1);
  });

  it('is safe to run twice at once: the second run sends the same messages at worst', async () => {
    const lost = await submit();
    const before = sentFor(lost);

    const [first, second] = await Promise.all([now(), now()]);

    expect(first.resent + second.resent).toBeGreaterThanOrEqual(1);
    expect(sentFor(lost) - before).toBe(first.resent + second.resent);
    expect((await pipeline.app.jobs.get(lost.id))?.status).toBe('QUEUED');
  });

  it('runs as the scheduled Lambda and counts jobs waiting too long', async () => {
    await submit();
    const result = await reconciler({}, lambdaContext('reconciler'));
    expect(result).toMatchObject({ resent: 0, queuedTooLong: 0 });
  });
});
