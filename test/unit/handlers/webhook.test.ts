import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as health } from '../../../functions/health/handler.ts';
import { handler as webhook } from '../../../functions/webhook/handler.ts';
import {
  distributionDelete,
  distributionEnvelope,
  distributionPush,
} from '../../support/webhook-payloads.ts';
import { DIGEST_A, DIGEST_B, DIGEST_C } from '../events/fixtures.ts';
import {
  declare,
  HUB_A_AUTH,
  HUB_A_SOURCE,
  lambdaContext,
  type Pipeline,
  startPipeline,
  webhookEvent,
} from './pipeline-fixture.ts';

const AUTH = HUB_A_AUTH;

let pipeline: Pipeline;

beforeEach(async () => {
  pipeline = await startPipeline();
  await declare(pipeline.app, {
    registries: [
      { name: 'hub-a', url: 'http://127.0.0.1:5001' },
      { name: 'dc-b', url: 'http://127.0.0.1:5002' },
      { name: 'dc-c', url: 'http://127.0.0.1:5003' },
    ],
    sources: [HUB_A_SOURCE],
    policies: [
      {
        name: 'to-b',
        source: { registry: 'hub-a', project: 'team-a' },
        destination: { registry: 'dc-b' },
        replicateDeletes: true,
      },
      { name: 'to-c', source: { registry: 'hub-a', project: 'team-a' }, destination: { registry: 'dc-c' } },
      {
        name: 'off',
        source: { registry: 'hub-a', project: 'team-a' },
        destination: { registry: 'dc-c' },
        enabled: false,
      },
    ],
  });
});
afterEach(() => pipeline.close());

const deliver = (body: unknown, headers: Record<string, string> = AUTH, source = 'hub-a') =>
  webhook(webhookEvent(source, body, headers), lambdaContext('webhook'));

describe('the webhook function', () => {
  it('records one job per matching enabled policy and sends them to the queue in one batch', async () => {
    const response = await deliver(
      distributionEnvelope(
        distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
      ),
    );

    expect(response.statusCode).toBe(202);
    const body = JSON.parse(response.body as string);
    expect(body).toMatchObject({ accepted: 1, ignored: 0 });
    expect(body.jobs).toHaveLength(2);
    const jobs = await Promise.all(body.jobs.map((id: string) => pipeline.app.jobs.get(id)));
    expect(
      jobs.map((job) => [job?.policy, job?.status, job?.destinationRegistry, job?.digest]).sort(),
    ).toEqual([
      ['to-b', 'QUEUED', 'dc-b', DIGEST_A],
      ['to-c', 'QUEUED', 'dc-c', DIGEST_A],
    ]);
    expect(pipeline.batches).toEqual([2]);
    expect(pipeline.sent.map((m) => m.body).sort((a, b) => a.jobId.localeCompare(b.jobId))).toEqual(
      [...body.jobs].sort().map((jobId: string) => ({ jobId, attempt: 1 })),
    );
  });

  it('makes one job of the same delivery received five times', async () => {
    const delivery = distributionEnvelope(
      distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
    );

    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(JSON.parse((await deliver(delivery)).body as string).jobs);

    expect(new Set(answers.map((jobs) => jobs.sort().join()))).toHaveLength(1);
    const toB = await pipeline.app.jobs.listByPolicy('to-b');
    expect(toB.jobs).toHaveLength(1);
  });

  it('refuses a delivery without the source’s secret with 401 and records nothing', async () => {
    const response = await deliver(
      distributionEnvelope(
        distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
      ),
      {
        authorization: 'Bearer wrong',
      },
    );

    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain('s3cret');
    expect((await pipeline.app.jobs.listByPolicy('to-b')).jobs).toHaveLength(0);
    expect(pipeline.sent).toHaveLength(0);
  });

  it('answers 404 for a source that is not configured, and 400 for a body that is not JSON', async () => {
    expect((await deliver(distributionEnvelope(), AUTH, 'nobody')).statusCode).toBe(404);
    const malformed = await deliver('{"events": [ hunter2-secret', AUTH);
    expect(malformed.statusCode).toBe(400);
    // The parser's own message would quote the body.
    expect(malformed.body).not.toContain('hunter2');
  });

  it('answers 202 "ignored" for an authenticated event no policy covers', async () => {
    const response = await deliver(
      distributionEnvelope(
        distributionPush({ id: 'e1', repository: 'team-b/app', digest: DIGEST_A, tag: 'v1' }),
      ),
    );

    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body as string)).toEqual({ accepted: 0, ignored: 1, jobs: [], deferred: 0 });
    expect(pipeline.sent).toHaveLength(0);
  });

  it('holds a newer digest of a busy tag back until the running job ends, then queues it', async () => {
    const first = JSON.parse(
      (
        await deliver(
          distributionEnvelope(
            distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
          ),
        )
      ).body as string,
    );
    const firstToB = (await pipeline.app.jobs.listByPolicy('to-b')).jobs[0];
    pipeline.sent.length = 0;

    const second = JSON.parse(
      (
        await deliver(
          distributionEnvelope(
            distributionPush({ id: 'e2', repository: 'team-a/app', digest: DIGEST_B, tag: 'v1' }),
          ),
        )
      ).body as string,
    );

    expect(second.jobs).toHaveLength(2);
    expect(pipeline.sent).toHaveLength(0);
    expect(first.jobs).toContain(firstToB?.id);

    await pipeline.app.lifecycle.end(firstToB?.id as string, 'SUCCEEDED');

    const waiting = (await pipeline.app.jobs.listByPolicy('to-b')).jobs.find(
      (job) => job.digest === DIGEST_B,
    );
    expect(pipeline.sent.map((m) => m.body)).toEqual([{ jobId: waiting?.id, attempt: 1 }]);
  });

  it('ends a waiting job SKIPPED when an even newer digest of the tag arrives', async () => {
    await deliver(
      distributionEnvelope(
        distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
      ),
    );
    await deliver(
      distributionEnvelope(
        distributionPush({ id: 'e2', repository: 'team-a/app', digest: DIGEST_B, tag: 'v1' }),
      ),
    );

    await deliver(
      distributionEnvelope(
        distributionPush({ id: 'e3', repository: 'team-a/app', digest: DIGEST_C, tag: 'v1' }),
      ),
    );

    const byDigest = Object.fromEntries(
      (await pipeline.app.jobs.listByPolicy('to-b')).jobs.map((job) => [job.digest, job.status]),
    );
    expect(byDigest).toEqual({ [DIGEST_A]: 'QUEUED', [DIGEST_B]: 'SKIPPED', [DIGEST_C]: 'QUEUED' });
  });

  it('turns a tag delete into a delete job carrying the digest the policy replicated', async () => {
    await deliver(
      distributionEnvelope(
        distributionPush({ id: 'e1', repository: 'team-a/app', digest: DIGEST_A, tag: 'v1' }),
      ),
    );
    const push = (await pipeline.app.jobs.listByPolicy('to-b')).jobs[0];
    await pipeline.app.lifecycle.end(push?.id as string, 'SUCCEEDED');

    const response = await deliver(
      distributionEnvelope(distributionDelete({ id: 'e2', repository: 'team-a/app', tag: 'v1' })),
    );

    const jobs = JSON.parse(response.body as string).jobs as string[];
    expect(jobs).toHaveLength(1);
    expect(await pipeline.app.jobs.get(jobs[0] as string)).toMatchObject({
      action: 'delete',
      policy: 'to-b',
      digest: DIGEST_A,
      status: 'QUEUED',
    });
  });
});

describe('the health function', () => {
  it('answers 200 when the records answer', async () => {
    const response = await health({}, lambdaContext('health'));
    expect(response).toMatchObject({ statusCode: 200 });
  });
});
