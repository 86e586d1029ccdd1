import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allEnded,
  type CrossdockProcess,
  crossdockPort,
  type JobView,
  startCrossdock,
  waitForJobs,
} from '../support/crossdock-process.ts';
import {
  imageManifest,
  type PushedImage,
  pushImage,
  pushLayout,
  randomLayer,
  writeLayout,
} from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import { distributionSource, registryList, replicationPolicy, webhookOf } from '../support/serve-config.ts';
import { postNotification, pushNotification } from '../support/webhook-payloads.ts';

/**
 * "Dedupe deliveries, not work": the same notification delivered again makes no second job.
 * "One lock per tag": never two executions for one tag at once, and the newest digest wins.
 * Also: the logs are JSON lines naming job ids, never the webhook secret.
 */

const query = (repository: string) => `repository=${encodeURIComponent(repository)}`;

/** A history entry of an execution taking the job (substate changes are RUNNING entries too). */
/** The entry of an execution's start: RUNNING, entering the workflow's first task. */
const startedRunning = (entry: JobView['history'][number]) =>
  entry.status === 'RUNNING' && ['FetchManifest', 'CheckTag'].includes(entry.substate ?? '');

/** The intervals [startedAt, finishedAt] of the jobs that ran, by start. */
function intervals(jobs: JobView[]): { id: string; start: number; end: number }[] {
  return jobs
    .filter((job) => job.startedAt !== undefined)
    .map((job) => ({
      id: job.id,
      start: Date.parse(job.startedAt as string),
      end: Date.parse(job.finishedAt ?? new Date().toISOString()),
    }))
    .sort((x, y) => x.start - y.start);
}

describe('crossdock serve: dedupe and tag locks', () => {
  const secret = `hook-${randomBytes(16).toString('hex')}`;
  const querySecret = `query-${randomBytes(16).toString('hex')}`;
  let r: TestRegistry; // no notifications: only the test's own posts make jobs
  let a: TestRegistry; // notifications to crossdock
  let b: TestRegistry;
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    const port = await crossdockPort();
    [r, a, b] = await Promise.all([
      startRegistry(),
      startRegistry({ notifications: webhookOf(port, 'a', `Bearer ${secret}`) }),
      startRegistry(),
    ]);
    const auth = { header: 'Authorization', value: `Bearer ${secret}` };
    crossdock = await startCrossdock({
      port,
      config: {
        registries: registryList({ r: r.url, a: a.url, b: b.url }),
        sources: [
          distributionSource('r', { auth }),
          distributionSource('a', { auth }),
          distributionSource('q', { registry: 'r', auth: { query: 'token', value: querySecret } }),
        ],
        policies: [
          replicationPolicy({ name: 'r-to-b', from: 'r', to: 'b', project: 'posted' }),
          replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b' }),
        ],
      },
    });
  });
  afterAll(async () => {
    await crossdock?.stop();
    await Promise.all([r?.stop(), a?.stop(), b?.stop()]);
  });

  const post = (body: unknown, authorization = `Bearer ${secret}`, path = '/webhooks/r') =>
    postNotification(`${crossdock.url}${path}`, body, authorization);

  /** Manifest PUTs B served for `repository:tag` since `mark`: how many times a job pushed the tag. */
  const tagPuts = (mark: number, repository: string, tag: string) =>
    b
      .requests(mark)
      .filter((req) => req.method === 'PUT' && req.path === `/v2/${repository}/manifests/${tag}`);

  it('the same delivery posted 5 times makes one job, run once', async () => {
    const image = await pushImage(`${r.host}/posted/app:v1`);
    const envelope = pushNotification(r, 'posted/app', 'v1', image);
    const mark = b.mark();

    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await post(envelope));

    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    const ids = answers.map((answer) => answer.body.jobs);
    expect(new Set(ids.map((jobs) => JSON.stringify(jobs))).size).toBe(1);
    expect(ids[0]).toHaveLength(1);
    const jobs = await waitForJobs(crossdock, allEnded, { query: query('posted/app') });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: ids[0][0], status: 'SUCCEEDED', attempt: 1, digest: image.digest });
    expect(jobs[0]?.history.filter(startedRunning)).toHaveLength(1);
    expect(await manifestDigest({ url: b.url }, 'posted/app', 'v1')).toBe(image.digest);
    expect(tagPuts(mark, 'posted/app', 'v1')).toHaveLength(1);
  });

  it('the same delivery posted 5 times at once makes one job, run once', async () => {
    const image = await pushImage(`${r.host}/posted/burst:v1`);
    const envelope = pushNotification(r, 'posted/burst', 'v1', image);
    const mark = b.mark();

    const answers = await Promise.all(Array.from({ length: 5 }, () => post(envelope)));

    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    const jobs = await waitForJobs(crossdock, allEnded, { query: query('posted/burst') });
    expect(jobs).toHaveLength(1);
    expect(answers.every((answer) => answer.body.jobs[0] === jobs[0]?.id)).toBe(true);
    expect(jobs[0]).toMatchObject({ status: 'SUCCEEDED', attempt: 1 });
    expect(jobs[0]?.history.filter(startedRunning)).toHaveLength(1);
    expect(await manifestDigest({ url: b.url }, 'posted/burst', 'v1')).toBe(image.digest);
    expect(tagPuts(mark, 'posted/burst', 'v1')).toHaveLength(1);
  });

  it('the same delivery again after its job ended makes no job; a new event for the same digest makes a new one, SKIPPED', async () => {
    const image = await pushImage(`${r.host}/posted/again:v1`);
    const envelope = pushNotification(r, 'posted/again', 'v1', image);
    const first = await post(envelope);
    const [job] = await waitForJobs(crossdock, allEnded, { query: query('posted/again') });
    expect(job).toMatchObject({ id: first.body.jobs[0], status: 'SUCCEEDED' });

    const again = await post(envelope);
    expect(again).toMatchObject({ status: 202, body: { jobs: [job?.id] } });
    const fresh = await post(pushNotification(r, 'posted/again', 'v1', image)); // another event id

    const jobs = await waitForJobs(crossdock, (all) => all.length === 2 && allEnded(all), {
      query: query('posted/again'),
    });
    const newer = jobs.find((j) => j.id !== job?.id);
    expect(newer).toMatchObject({ id: fresh.body.jobs[0], status: 'SKIPPED', digest: image.digest });
    expect(jobs.find((j) => j.id === job?.id)?.history).toEqual(job?.history);
  });

  it('two pushes of one tag back to back: B ends with the newest digest, never two executions at once', async () => {
    // Both images are made first, so the two pushes follow each other at once. The first is
    // bigger, so its job is still running when the second push's event arrives.
    const first = imageManifest(await Promise.all([randomLayer(24 << 20), randomLayer(4096)]));
    const second = imageManifest(await Promise.all([randomLayer(4096), randomLayer(4096)]));
    const [firstLayout, secondLayout] = [writeLayout(first), writeLayout(second)];

    await pushLayout(firstLayout, `${a.host}/team/app:latest`);
    await pushLayout(secondLayout, `${a.host}/team/app:latest`);

    const jobs = await waitForJobs(
      crossdock,
      (all) => allEnded(all) && all.some((job) => job.digest === second.digest),
      { query: query('team/app') },
    );
    expect(jobs.map((job) => job.digest).sort()).toEqual([first.digest, second.digest].sort());
    expect(jobs.every((job) => job.status === 'SUCCEEDED' || job.status === 'SKIPPED')).toBe(true);
    expect(await manifestDigest({ url: b.url }, 'team/app', 'latest')).toBe(second.digest);

    const ran = intervals(jobs);
    expect(ran.length).toBeGreaterThan(0);
    for (let i = 1; i < ran.length; i++) {
      const [before, after] = [ran[i - 1], ran[i]] as [(typeof ran)[0], (typeof ran)[0]];
      expect(after.start, `job ${after.id} started before job ${before.id} finished`).toBeGreaterThanOrEqual(
        before.end,
      );
    }
  });

  it('three deliveries for one tag at once: one runs, the middle one is superseded unrun, the newest runs after', async () => {
    // Three images pushed to R under one tag (R sends nothing); then their three events, posted
    // back to back, so the second and third arrive while the first job is unfinished.
    const images: PushedImage[] = [];
    for (let i = 0; i < 3; i++)
      images.push(await pushImage(`${r.host}/posted/locked:v1`, { layerSize: 1 << 20 }));
    const [oldest, middle, newest] = images as [PushedImage, PushedImage, PushedImage];

    const ids: string[] = [];
    for (const image of images) {
      const answer = await post(pushNotification(r, 'posted/locked', 'v1', image));
      expect(answer.status).toBe(202);
      ids.push(answer.body.jobs[0]);
    }

    const jobs = await waitForJobs(crossdock, (all) => all.length === 3 && allEnded(all), {
      query: query('posted/locked'),
    });
    const byDigest = (image: PushedImage) => jobs.find((job) => job.digest === image.digest) as JobView;
    const created = (job: JobView) => Date.parse((job as JobView & { createdAt: string }).createdAt);
    // The first holds the tag: the others were recorded while it was unfinished.
    expect(created(byDigest(newest))).toBeLessThan(Date.parse(byDigest(oldest).finishedAt as string));
    expect(byDigest(oldest).status).toBe('SUCCEEDED');
    expect(byDigest(middle)).toMatchObject({ status: 'SKIPPED' });
    expect(byDigest(middle).startedAt).toBeUndefined();
    expect(['SUCCEEDED', 'SKIPPED']).toContain(byDigest(newest).status);
    expect(byDigest(newest).startedAt).toBeDefined();
    expect(await manifestDigest({ url: b.url }, 'posted/locked', 'v1')).toBe(newest.digest);
    const ran = intervals(jobs);
    expect(ran.map((run) => run.id)).toEqual([byDigest(oldest).id, byDigest(newest).id]);
    expect(ran[1]?.start).toBeGreaterThanOrEqual(ran[0]?.end as number);
  });

  it('logs are JSON lines naming job ids, and the webhook secret appears nowhere in them', async () => {
    // A refused delivery too: its reason is logged, the value it carried is not.
    const wrong = `Bearer wrong-${randomBytes(8).toString('hex')}`;
    expect((await post({ events: [] }, wrong)).status).toBe(401);
    // A source authenticated by a query parameter: the secret is in the URL of every delivery.
    const image = await pushImage(`${r.host}/posted/query:v1`);
    const byQuery = `/webhooks/q?token=${querySecret}`;
    expect((await post(pushNotification(r, 'posted/query', 'v1', image), '', byQuery)).status).toBe(202);
    expect((await post('{"events": [', '', byQuery)).status).toBe(400);
    expect((await post({ events: [] }, '', `/webhooks/q?token=${querySecret}x`)).status).toBe(401);
    const jobs = await waitForJobs(crossdock, allEnded);
    expect(jobs.length).toBeGreaterThan(0);

    const lines = crossdock
      .logs()
      .split('\n')
      .filter((line) => line.trim() !== '');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const logged = crossdock.logs();
    for (const job of jobs) expect(logged).toContain(job.id);
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain(querySecret);
    expect(logged).not.toContain(wrong);
  });

  it('each log line names the function that wrote it, and a jobId key only on lines about that job', async () => {
    // By now deliveries were handled while jobs ran (the tests above). Every line is checked.
    const lines = crossdock
      .logs()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const deliveries = lines.filter((line) => line.message === 'delivery accepted');
    const dispatches = lines.filter((line) =>
      /^job (started|delayed|dropped|cancelled)$/.test(String(line.message)),
    );
    expect(deliveries.length).toBeGreaterThan(0);
    expect(dispatches.length).toBeGreaterThan(0);

    const misattributed = [
      ...deliveries.filter((line) => line.function_name !== 'crossdock-webhook'),
      ...dispatches.filter((line) => line.function_name !== 'crossdock-dispatch'),
    ];
    // A delivery line lists the jobs it made; a jobId key there was taken from another handler.
    const foreignJobId = deliveries.filter((line) => line.jobId !== undefined);
    const show = (found: Record<string, unknown>[]) =>
      found
        .map((line) => `${line.timestamp} ${line.function_name} "${line.message}" jobId=${line.jobId}`)
        .join('\n');
    expect(show(misattributed)).toBe('');
    expect(show(foreignJobId)).toBe('');
  });
});
