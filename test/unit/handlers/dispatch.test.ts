import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as dispatch } from '../../../functions/dispatch/handler.ts';
import { handler as deadLetters } from '../../../functions/dlq/handler.ts';
import { handler as finalizer } from '../../../functions/finalizer/handler.ts';
import { MAX_DEAD_LETTER_ROUNDS } from '../../../functions/lib/dispatch/dead-letter.ts';
import type { Job } from '../../../functions/lib/jobs/job.ts';
import { DIGEST_A } from '../events/fixtures.ts';
import { lambdaContext, type Pipeline, sqsEvent, startPipelineToB } from './pipeline-fixture.ts';

let pipeline: Pipeline;

async function setUp(limits = { runningJobs: 10, perDestination: 4, blobsPerJob: 2 }) {
  pipeline = await startPipelineToB(limits);
}
afterEach(() => pipeline.close());

let tags = 0;
async function queuedJob(policy = 'to-b', origin: 'event' | 'scan' = 'event'): Promise<Job> {
  const submitted = await pipeline.app.lifecycle.submit({
    origin,
    policy,
    action: 'push',
    sourceRegistry: 'hub-a',
    sourceRepository: 'team-a/app',
    tag: `v${++tags}`,
    digest: DIGEST_A,
    destinationRegistry: 'dc-b',
    destinationRepository: 'team-a/app',
  });
  return (await pipeline.app.jobs.get(submitted.jobId)) as Job;
}

const dispatchMessages = (bodies: unknown[], receiveCount = 1) =>
  dispatch(sqsEvent(bodies, receiveCount), lambdaContext('dispatch'));

describe('the dispatch function', () => {
  beforeEach(() => setUp({ runningJobs: 2, perDestination: 2, blobsPerJob: 2 }));

  it('starts one execution per job, named <job>-<attempt>, its input naming the action the workflow branches on', async () => {
    const job = await queuedJob();

    const response = await dispatchMessages([{ jobId: job.id, attempt: 1 }]);

    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.started).toEqual([
      { name: `${job.id}-1`, input: { jobId: job.id, attempt: 1, action: 'push' } },
    ]);
    expect(await pipeline.app.leases.countActive('dc-b')).toBe(1);
  });

  it('reports a message it cannot read as failed (it goes on to the dead-letter queue) and dispatches the others', async () => {
    const job = await queuedJob();
    const event = sqsEvent(['garbage', { jobId: 7 }, { jobId: job.id, attempt: 1 }]);

    const response = await dispatch(event, lambdaContext('dispatch'));

    const [garbage, wrongShape] = event.Records;
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: garbage?.messageId },
      { itemIdentifier: wrongShape?.messageId },
    ]);
    expect(pipeline.started.map((s) => s.input.jobId)).toEqual([job.id]);
  });

  it('parks a job over the running limit in its destination’s line, still QUEUED, and sends nothing', async () => {
    const jobs = [await queuedJob(), await queuedJob(), await queuedJob()];
    pipeline.sent.length = 0;

    const response = await dispatchMessages(jobs.map((job) => ({ jobId: job.id, attempt: 1 })));

    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.started).toHaveLength(2);
    const waiting = jobs.find((job) => !pipeline.started.some((s) => s.input.jobId === job.id)) as Job;
    expect(pipeline.sent).toEqual([]);
    expect(await pipeline.app.jobs.get(waiting.id)).toMatchObject({
      status: 'QUEUED',
      wait: { reason: 'slot' },
    });
    expect((await pipeline.app.parking.oldest('dc-b', 10)).map((parked) => parked.jobId)).toEqual([
      waiting.id,
    ]);
  });

  it('admits the first parked job at once when a running one ends: a message without delay', async () => {
    const [a, b, c, d] = [await queuedJob(), await queuedJob(), await queuedJob(), await queuedJob()];
    for (const job of [a, b, c, d]) await dispatchMessages([{ jobId: job?.id, attempt: 1 }]);
    pipeline.sent.length = 0;

    await pipeline.app.lifecycle.end(a?.id as string, 'SUCCEEDED');

    // c came first: it is sent, d stays in line.
    expect(pipeline.sent).toEqual([
      {
        body: { jobId: c?.id, attempt: 1, woken: true, policy: 'to-b' },
        delaySeconds: undefined,
        batch: true,
      },
    ]);
    await dispatchMessages([pipeline.sent[0]?.body]);
    expect(pipeline.started.map((s) => s.input.jobId)).toContain(c?.id);
    expect((await pipeline.app.parking.oldest('dc-b', 10)).map((parked) => parked.jobId)).toEqual([d?.id]);
  });

  it('admits a fresh push before a scan’s backfill that waited longer', async () => {
    const backfill = await queuedJob('to-b', 'scan');
    const [a, b] = [await queuedJob(), await queuedJob()];
    await dispatchMessages([a, b].map((job) => ({ jobId: job?.id, attempt: 1 })));
    await dispatchMessages([{ jobId: backfill.id, attempt: 1 }]);
    const push = await queuedJob();
    await dispatchMessages([{ jobId: push.id, attempt: 1 }]);
    pipeline.sent.length = 0;

    await pipeline.app.lifecycle.end(a?.id as string, 'SUCCEEDED');

    expect(pipeline.sent.map((message) => message.body.jobId)).toEqual([push.id]);
  });

  it('takes a cancelled parked job out of line, so its place goes to the next', async () => {
    const [a, b, c, d] = [await queuedJob(), await queuedJob(), await queuedJob(), await queuedJob()];
    for (const job of [a, b, c, d]) await dispatchMessages([{ jobId: job?.id, attempt: 1 }]);
    await pipeline.app.lifecycle.cancel(c?.id as string);
    pipeline.sent.length = 0;

    await pipeline.app.lifecycle.end(a?.id as string, 'SUCCEEDED');

    expect(pipeline.sent.map((message) => message.body.jobId)).toEqual([d?.id]);
  });

  it('ends the job of a disabled policy CANCELLED without starting it', async () => {
    const job = await queuedJob('off');

    await dispatchMessages([{ jobId: job.id, attempt: 1 }]);

    expect(pipeline.started).toEqual([]);
    expect(await pipeline.app.jobs.get(job.id)).toMatchObject({
      status: 'CANCELLED',
      error: { code: 'JobCancelled', message: 'policy off is disabled' },
    });
  });

  it('never ends a RUNNING job on a duplicate message, even with a cancel requested: its execution stops itself', async () => {
    const job = await queuedJob();
    await pipeline.app.jobs.markRunning(job.id, 1, 'arn:execution');
    await pipeline.app.lifecycle.cancel(job.id);
    await pipeline.app.config.setPolicyEnabled('to-b', false);

    await dispatchMessages([{ jobId: job.id, attempt: 1 }]);

    expect(await pipeline.app.jobs.get(job.id)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(
      (await pipeline.app.locks.get({ policy: 'to-b', repository: 'team-a/app', tag: job.tag }))?.jobId,
    ).toBe(job.id);
    // Starting `<job>-1` again is idempotent; the execution sees the flag.
    expect(pipeline.started.map((s) => s.name)).toEqual([`${job.id}-1`]);
  });

  it('drops the message of a job that ended or of an older attempt', async () => {
    const job = await queuedJob();
    await pipeline.app.lifecycle.end(job.id, 'FAILED', { error: { code: 'X', message: 'x' } });
    await pipeline.app.jobs.retry(job.id);

    const response = await dispatchMessages([{ jobId: job.id, attempt: 1 }]);

    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.started).toEqual([]);
  });

  it('reports only the message whose execution could not start, and frees its slot', async () => {
    const job = await queuedJob();
    const ended = await queuedJob();
    await pipeline.app.lifecycle.end(ended.id, 'SUCCEEDED');
    pipeline.failStarts = true;

    const event = sqsEvent([{ jobId: job.id, attempt: 1 }, 'not json', { jobId: ended.id, attempt: 1 }]);
    const response = await dispatch(event, lambdaContext('dispatch'));

    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      event.Records.slice(0, 2)
        .map((r) => r.messageId)
        .sort(),
    );
    expect(await pipeline.app.leases.countActive()).toBe(0);
    expect((await pipeline.app.jobs.get(job.id))?.status).toBe('QUEUED');
  });

  it('submits a big delivery’s jobs from a SubmitMessage once, however often it is received', async () => {
    const target = (tag: string) => ({
      id: `delivery-${tag}`,
      policy: 'to-b',
      action: 'push' as const,
      sourceRegistry: 'hub-a',
      sourceRepository: 'team-a/app',
      tag,
      digest: DIGEST_A,
      destinationRegistry: 'dc-b',
      destinationRepository: 'team-a/app',
    });
    const message = { submit: [target('s1'), target('s2'), target('s3')] };
    pipeline.sent.length = 0;

    const first = await dispatchMessages([message]);
    const again = await dispatchMessages([message], 2);

    expect([first.batchItemFailures, again.batchItemFailures]).toEqual([[], []]);
    for (const tag of ['s1', 's2', 's3']) {
      expect(await pipeline.app.jobs.get(`delivery-${tag}`)).toMatchObject({ status: 'QUEUED', tag });
    }
    expect(
      pipeline.sent.map((sent) => sent.body).sort((x, y) => String(x.jobId).localeCompare(String(y.jobId))),
    ).toEqual(['s1', 's2', 's3'].map((tag) => ({ jobId: `delivery-${tag}`, attempt: 1 })));
  });
});

describe('the finalizer function', () => {
  beforeEach(() => setUp());

  const statusChange = (jobId: string, attempt: number, status: string) => ({
    version: '0',
    id: 'e',
    'detail-type': 'Step Functions Execution Status Change' as const,
    source: 'aws.states',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      executionArn: `arn:aws:states:us-east-1:000000000000:execution:crossdock:${jobId}-${attempt}`,
      input: JSON.stringify({ jobId, attempt }),
      status,
      error: status === 'TIMED_OUT' ? 'States.Timeout' : null,
      cause: null,
    },
  });

  it('ends a job whose execution was stopped as CANCELLED and frees its slot and tag', async () => {
    const job = await queuedJob();
    await dispatchMessages([{ jobId: job.id, attempt: 1 }]);
    await pipeline.app.jobs.markRunning(job.id, 1, 'arn:x');

    const result = await finalizer(statusChange(job.id, 1, 'ABORTED'), lambdaContext('finalizer'));

    expect(result).toEqual({ recorded: true });
    expect(await pipeline.app.jobs.get(job.id)).toMatchObject({
      status: 'CANCELLED',
      error: { code: 'ExecutionAborted' },
    });
    expect(await pipeline.app.leases.countActive()).toBe(0);
    expect(
      (await pipeline.app.locks.get({ policy: 'to-b', repository: 'team-a/app', tag: job.tag }))?.jobId,
    ).toBeUndefined();
  });

  it('records a timed-out execution as FAILED with the state it was in', async () => {
    const job = await queuedJob();
    await pipeline.app.jobs.markRunning(job.id, 1, 'arn:x');
    await pipeline.app.jobs.setSubstate(job.id, 'MountOrCopyBlobs');

    await finalizer(statusChange(job.id, 1, 'TIMED_OUT'), lambdaContext('finalizer'));

    expect((await pipeline.app.jobs.get(job.id))?.error).toEqual({
      code: 'ExecutionTimedOut',
      message: 'States.Timeout',
      state: 'MountOrCopyBlobs',
    });
  });

  it('leaves a job alone when an execution of an older attempt ends', async () => {
    const job = await queuedJob();
    await pipeline.app.lifecycle.end(job.id, 'FAILED', { error: { code: 'X', message: 'x' } });
    await pipeline.app.jobs.retry(job.id);

    const result = await finalizer(statusChange(job.id, 1, 'ABORTED'), lambdaContext('finalizer'));

    expect(result).toEqual({ recorded: false });
    expect((await pipeline.app.jobs.get(job.id))?.status).toBe('QUEUED');
  });

  it('lets an older attempt’s Record state change nothing once the job was retried', async () => {
    const job = await queuedJob();
    await pipeline.app.lifecycle.end(job.id, 'CANCELLED');
    await pipeline.app.jobs.retry(job.id);
    await dispatchMessages([{ jobId: job.id, attempt: 2 }]);

    const recorded = await pipeline.app.workflowJobs.end(
      job.id,
      'FAILED',
      { code: 'StaleAttemptError', message: 'x' },
      1,
    );

    expect(recorded).toBe(false);
    expect(await pipeline.app.jobs.get(job.id)).toMatchObject({ status: 'QUEUED', attempt: 2 });
    expect(await pipeline.app.leases.countActive()).toBe(1);
  });

  it('keeps the final state a Record state already wrote', async () => {
    const job = await queuedJob();
    await pipeline.app.jobs.markRunning(job.id, 1, 'arn:x');
    await pipeline.app.lifecycle.end(job.id, 'SUCCEEDED');

    const result = await finalizer(statusChange(job.id, 1, 'FAILED'), lambdaContext('finalizer'));

    expect(result).toEqual({ recorded: false });
    expect((await pipeline.app.jobs.get(job.id))?.status).toBe('SUCCEEDED');
  });
});

describe('the dead-letter function', () => {
  beforeEach(() => setUp());

  it('sends a dead letter again later (an outage delays jobs, it does not fail them), longer each round', async () => {
    const job = await queuedJob();

    const first = await deadLetters(sqsEvent([{ jobId: job.id, attempt: 1 }], 5), lambdaContext('dlq'));
    const again = await deadLetters(
      sqsEvent([{ jobId: job.id, attempt: 1, deadLetters: 4 }], 5),
      lambdaContext('dlq'),
    );

    expect([first.batchItemFailures, again.batchItemFailures]).toEqual([[], []]);
    expect(pipeline.sent.slice(-2)).toEqual([
      { body: { jobId: job.id, attempt: 1, deadLetters: 1 }, delaySeconds: 60, batch: false },
      { body: { jobId: job.id, attempt: 1, deadLetters: 5 }, delaySeconds: 900, batch: false },
    ]);
    expect((await pipeline.app.jobs.get(job.id))?.status).toBe('QUEUED');
  });

  it('gives a job up as FAILED, with the reason, after it kept coming back from the dead-letter queue', async () => {
    const job = await queuedJob();
    const before = pipeline.sent.length;

    const response = await deadLetters(
      sqsEvent([{ jobId: job.id, attempt: 1, deadLetters: MAX_DEAD_LETTER_ROUNDS }], 5),
      lambdaContext('dlq'),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.sent.length).toBe(before);
    expect(await pipeline.app.jobs.get(job.id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'DeadLetter', message: expect.stringContaining('received 5 times') },
    });
  });

  it('fails at once a dead letter whose policy no longer exists', async () => {
    const job = await queuedJob();
    await pipeline.app.config.deletePolicy(job.policy);

    await deadLetters(sqsEvent([{ jobId: job.id, attempt: 1 }], 5), lambdaContext('dlq'));

    expect(await pipeline.app.jobs.get(job.id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'PolicyGone' },
    });
  });

  it('sends a big delivery’s SubmitMessage again later, and drops it after as many rounds', async () => {
    const message = {
      submit: [
        {
          id: 'delivery-d1',
          policy: 'to-b',
          action: 'push',
          sourceRegistry: 'hub-a',
          sourceRepository: 'team-a/app',
          tag: 'd1',
          digest: DIGEST_A,
          destinationRegistry: 'dc-b',
          destinationRepository: 'team-a/app',
        },
      ],
    };
    const before = pipeline.sent.length;

    await deadLetters(sqsEvent([message], 5), lambdaContext('dlq'));
    await deadLetters(
      sqsEvent([{ ...message, deadLetters: MAX_DEAD_LETTER_ROUNDS }], 5),
      lambdaContext('dlq'),
    );

    expect(pipeline.sent.slice(before)).toEqual([
      { body: { ...message, deadLetters: 1 }, delaySeconds: 60, batch: false },
    ]);
  });

  it('drops a dead letter that names no job without failing the batch', async () => {
    const response = await deadLetters(sqsEvent(['garbage', { nothing: true }]), lambdaContext('dlq'));
    expect(response.batchItemFailures).toEqual([]);
  });
});
