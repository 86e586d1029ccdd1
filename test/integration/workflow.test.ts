import { StateMachine } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '#registry/client.ts';
import { BlobLocations, LocalBlobClaims } from '#replication/blob-locations.ts';
import type {
  Job,
  JobError,
  JobTarget,
  KeptLane,
  Progress,
  TerminalStatus,
} from '../../functions/lib/jobs/job.ts';
import { queuedJob } from '../../functions/lib/jobs/transitions.ts';
import type { KnownJob, TaskDependencies, WorkflowJobs } from '../../functions/lib/workflow/ports.ts';
import {
  fetchManifestTask,
  mountOrCopyBlobsTask,
  pushManifestTask,
} from '../../functions/lib/workflow/tasks.ts';
import { pipelineLimits } from '../../infra/limits.ts';
import { localTaskHandlers } from '../../infra/local/workflow-binding.ts';
import { pushImage, randomLayer } from '../support/image-builder.ts';
import { removeTag, startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { listTags, manifestDigest } from '../support/registry-reader.ts';

const MiB = 1024 * 1024;

/** Job records kept in memory, with the history the tests read. (The DynamoDB store has its own tests.) */
class RecordedJobs implements WorkflowJobs {
  readonly jobs = new Map<
    string,
    Job & {
      substates: string[];
      progress: Required<Progress>;
    }
  >();
  /** What unfinished lanes kept, in order. */
  readonly lanesKept: KeptLane[] = [];

  add(job: JobTarget & { cancelRequested?: boolean }): void {
    const { cancelRequested, ...target } = job;
    this.jobs.set(job.id, {
      ...queuedJob(target, new Date().toISOString()),
      cancelRequested: cancelRequested ?? false,
      substates: [],
      progress: { copied: 0, mounted: 0, present: 0, bytes: 0 },
    });
  }
  /** Each task's first write of its substate, and whether it tried a history entry. */
  readonly entered: { id: string; substate: string; entry: boolean }[] = [];
  async get(id: string) {
    return this.jobs.get(id);
  }
  async enterSubstate(id: string, attempt: number, substate: string, options: { entry?: boolean } = {}) {
    const job = this.jobs.get(id);
    if (job?.status !== 'RUNNING' || job.attempt !== attempt || job.cancelRequested) return undefined;
    this.entered.push({ id, substate, entry: options.entry !== false });
    await this.setSubstate(job, substate);
    return job;
  }
  async markRunning(id: string, _attempt: number, _executionArn: string, substate?: string) {
    const job = this.jobs.get(id) as Job & { substates: string[] };
    job.status = 'RUNNING';
    if (substate) {
      job.substate = substate;
      job.substates.push(substate);
    }
    return job;
  }
  async end(id: string, status: TerminalStatus, error?: JobError, attempt?: number, note?: string) {
    const job = this.jobs.get(id);
    if (!job || ['SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELLED'].includes(job.status)) return false;
    job.status = status;
    if (error) job.error = error;
    job.history.push({
      at: new Date().toISOString(),
      status,
      attempt: attempt ?? job.attempt,
      ...(note ? { note } : {}),
    });
    return true;
  }
  async setSubstate(known: KnownJob, substate: string, progress?: Progress, passing?: string) {
    const job = this.jobs.get(known.id);
    if (!job) return;
    job.substate = substate;
    for (const entered of [passing, substate])
      if (entered !== undefined && !job.substates.includes(entered)) job.substates.push(entered);
    for (const key of Object.keys(progress ?? {}) as (keyof Progress)[])
      job.progress[key] += progress?.[key] ?? 0;
  }
  async keepLane(id: string, index: number, lane: KeptLane) {
    const job = this.jobs.get(id);
    if (job) job.lanes = { ...job.lanes, [index]: lane };
    this.lanesKept.push(lane);
  }
  async isCancelRequested(id: string) {
    return this.jobs.get(id)?.cancelRequested === true;
  }
}

describe('the workflow, run by aws-local-stepfunctions with the task functions', () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  let clients: Map<string, RegistryClient>;
  const jobs = new RecordedJobs();
  const deps: TaskDependencies = {
    jobs,
    clients: { client: async (name) => clients.get(name) as RegistryClient },
    byteBudget: 4 * MiB,
    chunkSize: 2 * MiB,
    // Scaled down with the byte budget (1 GiB → 4 MiB), so that layers of a few MiB take lanes.
    laneCostBytes: 64 * 1024,
    cancelPollMs: 50,
  };
  /** Runs a job's execution with these dependencies; answers the states it entered (what Step Functions bills: one transition each). */
  const workflow = (with_: TaskDependencies) => {
    const { definition, taskHandlers, retryIntervals } = localTaskHandlers(
      pipelineLimits(
        { runningJobs: 10, perDestination: 4, blobsPerJob: 2 },
        { executionTimeoutSeconds: 300 },
      ),
      with_,
    );
    const machine = new StateMachine(JSON.parse(definition), { validationOptions: { checkArn: false } });
    return async (jobId: string, started?: (abort: () => void) => void): Promise<string[]> => {
      const { result, eventLogs, abort } = machine.run(
        { jobId, attempt: 1, action: jobs.jobs.get(jobId)?.action ?? 'push' },
        {
          overrides: { taskResourceLocalHandlers: taskHandlers, retryIntervalOverrides: retryIntervals },
          context: {
            Execution: { Id: `arn:aws:states:us-east-1:000000000000:execution:crossdock:${jobId}-1` },
          },
        },
      );
      started?.(abort);
      const entered: string[] = [];
      const log = (async () => {
        for await (const event of eventLogs) {
          if (event.type === 'StateEntered' || event.type === 'StateRetried') entered.push(event.state.name);
          if (process.env.DEBUG_EVENTS) console.log(JSON.stringify(event).slice(0, 300));
        }
      })();
      await result;
      await log;
      return entered;
    };
  };
  const run = workflow(deps);
  const job = (
    id: string,
    repository: string,
    tag: string,
    extra: Partial<JobTarget> & { cancelRequested?: boolean } = {},
  ) =>
    jobs.add({
      id,
      policy: 'team-a',
      action: 'push',
      sourceRegistry: 'a',
      sourceRepository: repository,
      tag,
      destinationRegistry: 'b',
      destinationRepository: `mirror/${repository}`,
      ...extra,
    });

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
    clients = new Map([
      ['a', new RegistryClient({ url: source.url, name: 'a' })],
      ['b', new RegistryClient({ url: destination.url, name: 'b' })],
    ]);
  });

  afterAll(async () => {
    await Promise.all([...(clients?.values() ?? [])].map((c) => c.close()));
    await Promise.all([source, destination].map((r) => r?.stop()));
  });

  it('replicates a pushed tag through every substate and records SUCCEEDED', async () => {
    const image = await pushImage(`${source.host}/team-a/app:v1`, {
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    job('push-1', 'team-a/app', 'v1');

    const states = await run('push-1');

    const record = jobs.jobs.get('push-1');
    expect(record?.status).toBe('SUCCEEDED');
    expect(record?.substates).toEqual([
      'FetchManifest',
      'CheckManifest',
      'CheckBlobs',
      'MountOrCopyBlobs',
      'PushManifest',
    ]);
    expect(record?.progress.copied).toBe(image.blobs.length);
    expect(await manifestDigest(destination, 'mirror/team-a/app', 'v1')).toBe(image.digest);
    // A small image's blobs are copied by FetchManifest itself: three state transitions in all.
    expect(states).toEqual(['FetchManifest', 'Route', 'PushManifest']);
    // The index and its two children are read once each, to plan (FetchManifest): the plan
    // carries their bytes, and PushManifest pushes those without reading the source again.
    const manifestReads = source
      .requests()
      .filter((r) => r.method === 'GET' && r.path.startsWith('/v2/team-a/app/manifests/'));
    expect(manifestReads).toHaveLength(3);
  });

  it('deals the blobs of a big image into blobsPerJob lanes: one state per lane, whatever the layer count', async () => {
    const layers = await Promise.all(Array.from({ length: 5 }, () => randomLayer(MiB)));
    const image = await pushImage(`${source.host}/team-a/layers:v1`, { layers });
    job('push-6', 'team-a/layers', 'v1');

    const states = await run('push-6');

    expect(jobs.jobs.get('push-6')).toMatchObject({ status: 'SUCCEEDED', progress: { copied: 6 } });
    expect(await manifestDigest(destination, 'mirror/team-a/layers', 'v1')).toBe(image.digest);
    // 5 MiB of layers is over this workflow's 4 MiB budget for FetchManifest: two lanes (blobsPerJob).
    expect(states).toEqual([
      'FetchManifest',
      'Route',
      'CopyBlobs',
      'MountOrCopyBlobs',
      'MountOrCopyBlobs',
      'PushManifest',
    ]);
    // FetchManifest entered MountOrCopyBlobs before dealing the lanes: the lanes try no history
    // entry (each had been refused but the first's); PushManifest adds its own.
    const entered = jobs.entered
      .filter((e) => e.id === 'push-6')
      .map(({ substate, entry }) => [substate, entry]);
    expect(entered).toEqual([
      ['MountOrCopyBlobs', false],
      ['MountOrCopyBlobs', false],
      ['PushManifest', true],
    ]);
  });

  it('pushes nothing when PushManifest is tried again after it recorded SUCCEEDED (its answer lost)', async () => {
    const succeeded = jobs.jobs.get('push-1');
    expect(succeeded?.status).toBe('SUCCEEDED');
    const digest = (await manifestDigest(destination, 'mirror/team-a/app', 'v1')) as string;
    const mark = destination.mark();

    const again = await pushManifestTask(deps, { jobId: 'push-1', attempt: 1, digest });

    expect(again).toEqual({ pushed: [] });
    expect(destination.requests(mark).filter((r) => r.method === 'PUT')).toEqual([]);
  });

  describe('PushManifest with what FetchManifest carried', () => {
    const manifestReads = (repository: string, since: number) =>
      source
        .requests(since)
        .filter((r) => r.method === 'GET' && r.path.startsWith(`/v2/${repository}/manifests/`));
    /** Runs FetchManifest of a new job of a new image: answers its plan and the image. */
    const planned = async (id: string, repository: string) => {
      const image = await pushImage(`${source.host}/${repository}:v1`);
      job(id, repository, 'v1');
      const plan = await fetchManifestTask(deps, {
        jobId: id,
        attempt: 1,
        action: 'push',
        executionArn: `arn:aws:states:us-east-1:000000000000:execution:crossdock:${id}-1`,
        started: new Date().toISOString(),
        blobsPerJob: 2,
      });
      return { image, plan };
    };

    it('reads again from the source a carried manifest whose text does not hash to its digest, and pushes the source’s bytes', async () => {
      const { image, plan } = await planned('push-11', 'team-a/carried');
      const [carried] = plan.manifests ?? [];
      expect(carried?.digest).toBe(image.digest);
      const altered = { ...carried, text: carried?.text.replace('"schemaVersion":2', '"schemaVersion": 2') };
      const mark = source.mark();

      await pushManifestTask(deps, {
        jobId: 'push-11',
        attempt: 1,
        digest: plan.digest,
        plan: { ...plan, manifests: [altered] },
      });

      expect(jobs.jobs.get('push-11')?.status).toBe('SUCCEEDED');
      expect(await manifestDigest(destination, 'mirror/team-a/carried', 'v1')).toBe(image.digest);
      expect(manifestReads('team-a/carried', mark)).toHaveLength(1);
    });

    it('reads the manifests from the source when the plan carries none (an execution of the definition before them)', async () => {
      const { image, plan } = await planned('push-12', 'team-a/uncarried');
      const mark = source.mark();

      await pushManifestTask(deps, { jobId: 'push-12', attempt: 1, digest: plan.digest });

      expect(jobs.jobs.get('push-12')?.status).toBe('SUCCEEDED');
      expect(await manifestDigest(destination, 'mirror/team-a/uncarried', 'v1')).toBe(image.digest);
      expect(manifestReads('team-a/uncarried', mark)).toHaveLength(1);
    });
  });

  it('ends SKIPPED without pushing when the destination already has the digest', async () => {
    job('push-2', 'team-a/app', 'v1');
    const mark = destination.mark();

    const states = await run('push-2');

    expect(jobs.jobs.get('push-2')?.status).toBe('SKIPPED');
    expect(states).toEqual(['FetchManifest', 'Route', 'Skipped']);
    expect(destination.requests(mark).filter((r) => r.method === 'PUT' || r.method === 'POST')).toEqual([]);
  });

  it('spreads a big blob over several MountOrCopyBlobs invocations, resuming the open upload: one state each', async () => {
    const layer = await randomLayer(10 * MiB);
    const image = await pushImage(`${source.host}/team-a/big:v1`, { layers: [layer] });
    job('push-3', 'team-a/big', 'v1');
    const kept = jobs.lanesKept.length;

    const states = await run('push-3');

    const record = jobs.jobs.get('push-3');
    expect(record?.status).toBe('SUCCEEDED');
    expect(await manifestDigest(destination, 'mirror/team-a/big', 'v1')).toBe(image.digest);
    // 10 MiB at 4 MiB an invocation: the layer's lane is called three times, twice by its Retry
    // (CopyContinuesError), each time from the upload the one before kept; the config has a lane of its own.
    expect(states.filter((state) => state === 'MountOrCopyBlobs')).toHaveLength(4);
    expect(states.filter((state) => state !== 'MountOrCopyBlobs')).toEqual([
      'FetchManifest',
      'Route',
      'CopyBlobs',
      'PushManifest',
    ]);
    const uploads = jobs.lanesKept.slice(kept).map((lane) => lane.upload?.offset);
    expect(uploads).toEqual([4 * MiB, 8 * MiB]);
    // Nothing sent twice: the layer once, and the config.
    expect(record?.progress.bytes).toBeLessThan(layer.size + 64 * 1024);
  });

  it('resumes the open upload of every lane when the job is driven on after its execution died', async () => {
    const layers = await Promise.all([randomLayer(10 * MiB), randomLayer(10 * MiB)]);
    const image = await pushImage(`${source.host}/team-a/twobig:v1`, { layers });
    job('push-8', 'team-a/twobig', 'v1');
    // The first execution dies (its process killed: the run and its tasks stop) once both lanes
    // kept their first 4 MiB.
    const killed = new AbortController();
    let abort = () => {};
    let kept = 0;
    let bothKept = () => {};
    const barrier = new Promise<void>((resolve) => {
      bothKept = resolve;
    });
    const dying: WorkflowJobs = Object.assign(Object.create(jobs), {
      keepLane: async (id: string, index: number, lane: KeptLane) => {
        await jobs.keepLane(id, index, lane);
        if (++kept === 2) {
          abort();
          killed.abort();
          bothKept();
        }
        await barrier;
      },
    });
    await expect(
      workflow({ ...deps, jobs: dying, signal: killed.signal })('push-8', (abortRun) => {
        abort = abortRun;
      }),
    ).rejects.toThrow();
    const sentBefore = jobs.jobs.get('push-8')?.progress.bytes;

    const states = await run('push-8');

    const record = jobs.jobs.get('push-8');
    expect(record?.status).toBe('SUCCEEDED');
    expect(await manifestDigest(destination, 'mirror/team-a/twobig', 'v1')).toBe(image.digest);
    // Each layer's lane went on from its 4 MiB: 4 + 6 MiB each over both executions, none sent again from 0.
    expect(sentBefore).toBe(2 * 4 * MiB);
    expect(record?.progress.bytes).toBeLessThan(2 * 10 * MiB + 64 * 1024);
    expect(states.filter((state) => state === 'MountOrCopyBlobs')).toHaveLength(4);
  });

  it('hands a lane whose blob another job copies back to its Retry, and mounts the blob once that copy lands', async () => {
    const layer = await randomLayer(5 * MiB);
    const image = await pushImage(`${source.host}/team-a/shared:v1`, { layers: [layer] });
    const shared = { index: new BlobLocations(), claims: new LocalBlobClaims() };
    await shared.claims.claim(destination.host, layer.digest, 'another-job#1');
    job('push-7', 'team-a/shared', 'v1');
    const kept = jobs.lanesKept.length;

    const running = workflow({ ...deps, sharedBlobs: shared, claimWaitMs: 100 })('push-7');
    // The other job's copy lands once this one's lane has handed back, waiting.
    while (jobs.lanesKept.length === kept) await new Promise((resolve) => setTimeout(resolve, 20));
    await pushImage(`${destination.host}/mirror/team-a/other:v1`, { layers: [layer] });
    await shared.index.remember(destination.host, layer.digest, 'mirror/team-a/other');
    await shared.claims.release(destination.host, layer.digest, 'another-job#1');
    const states = await running;

    const record = jobs.jobs.get('push-7');
    expect(record).toMatchObject({ status: 'SUCCEEDED', progress: { mounted: 1, copied: 1 } });
    expect(await manifestDigest(destination, 'mirror/team-a/shared', 'v1')).toBe(image.digest);
    expect(jobs.lanesKept.slice(kept)).toEqual([{ started: expect.any(String), blobs: [layer.digest] }]);
    // The layer's lane twice (once by its Retry), the config's once; no state of its own for the wait.
    expect(states.filter((state) => state === 'MountOrCopyBlobs')).toHaveLength(3);
    expect(states.filter((state) => state !== 'MountOrCopyBlobs')).toEqual([
      'FetchManifest',
      'Route',
      'CopyBlobs',
      'PushManifest',
    ]);
    expect(record?.progress.bytes).toBeLessThan(layer.size);
  });

  it('copies the lane’s own blobs before it waits for a blob another job copies', async () => {
    const sharedLayer = await randomLayer(3 * MiB);
    const ownLayer = await randomLayer(2 * MiB);
    const image = await pushImage(`${source.host}/team-a/own:v1`, { layers: [sharedLayer, ownLayer] });
    const shared = { index: new BlobLocations(), claims: new LocalBlobClaims() };
    await shared.claims.claim(destination.host, sharedLayer.digest, 'another-job#1');
    job('push-7b', 'team-a/own', 'v1');

    // One lane (a lane costs more than any of these blobs), the shared layer first in it; the
    // other job's copy lands only once this job's own layer is at the destination: a lane that
    // waited first (up to a minute here) would never see it land.
    const running = workflow({
      ...deps,
      sharedBlobs: shared,
      claimWaitMs: 60_000,
      laneCostBytes: 1024 * MiB,
    })('push-7b');
    const b = clients.get('b') as RegistryClient;
    while ((await b.blobs.head('mirror/team-a/own', ownLayer.digest)) === undefined)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await pushImage(`${destination.host}/mirror/team-a/other:v2`, { layers: [sharedLayer] });
    await shared.index.remember(destination.host, sharedLayer.digest, 'mirror/team-a/other');
    await shared.claims.release(destination.host, sharedLayer.digest, 'another-job#1');
    const states = await running;

    expect(jobs.jobs.get('push-7b')).toMatchObject({
      status: 'SUCCEEDED',
      progress: { mounted: 1, copied: 2 },
    });
    expect(await manifestDigest(destination, 'mirror/team-a/own', 'v1')).toBe(image.digest);
    expect(states).toEqual(['FetchManifest', 'Route', 'CopyBlobs', 'MountOrCopyBlobs', 'PushManifest']);
  });

  it('fails a lane an execution of the definition before the Retry cannot go on with, saying to retry the job', async () => {
    const layer = await randomLayer(10 * MiB);
    await pushImage(`${source.host}/team-a/older:v1`, { layers: [layer] });
    job('push-9', 'team-a/older', 'v1');
    await jobs.markRunning('push-9', 1, 'arn:older', 'MountOrCopyBlobs');
    const kept = jobs.lanesKept.length;
    // As that definition called it: the lane, without its index or the execution's start time.
    const lane = { digest: 'sha256:image', blobs: [layer], upload: null, done: false, waiting: false };

    const failed = mountOrCopyBlobsTask(deps, { jobId: 'push-9', attempt: 1, lane } as never);

    await expect(failed).rejects.toMatchObject({
      name: 'CopyContinuesError',
      message: expect.stringMatching(/retry the job/),
    });
    expect(jobs.lanesKept).toHaveLength(kept);
  });

  it('records CANCELLED, and creates no tag, when the job was cancelled; the execution does not end green', async () => {
    await pushImage(`${source.host}/team-a/cancel:v1`);
    job('push-4', 'team-a/cancel', 'v1', { cancelRequested: true });

    // It ends in the Fail state `Cancelled`: the console tells it from a replicated job.
    await expect(run('push-4')).rejects.toThrow(/Cancelled by the operator or a disabled policy/);

    expect(jobs.jobs.get('push-4')?.status).toBe('CANCELLED');
    expect(await listTags(destination, 'mirror/team-a/cancel')).toEqual([]);
  });

  it('records FAILED with the error and the state it failed in', async () => {
    job('push-5', 'team-a/missing', 'v1');

    // The execution fails (the Fail state), so the console shows a red execution.
    await expect(run('push-5')).rejects.toThrow(/The job's record holds the error/);

    expect(jobs.jobs.get('push-5')).toMatchObject({
      status: 'FAILED',
      error: {
        code: 'RegistryNotFoundError',
        state: 'FetchManifest',
        message: expect.stringMatching(/team-a\/missing:v1 not found/),
      },
    });
  });

  it('records FAILED, touching no registry, when the execution names an action it has no path for', async () => {
    job('rename-1', 'team-a/app', 'v1', { action: 'rename' as 'push' });
    const served = source.requests().length + destination.requests().length;

    await expect(run('rename-1')).rejects.toThrow(/The job's record holds the error/);

    expect(jobs.jobs.get('rename-1')).toMatchObject({
      status: 'FAILED',
      error: {
        code: 'UnknownActionError',
        message: expect.stringMatching(/neither push nor delete: "rename"/),
      },
    });
    expect(source.requests().length + destination.requests().length).toBe(served);
  });

  it('deletes the destination tag only while it points at the deleted digest and the source has no such tag', async () => {
    const v1 = (await manifestDigest(destination, 'mirror/team-a/app', 'v1')) as string;
    job('delete-1', 'team-a/app', 'v1', { action: 'delete', digest: `sha256:${'0'.repeat(64)}` });
    job('delete-2', 'team-a/app', 'v1', { action: 'delete', digest: v1 });
    job('delete-3', 'team-a/app', 'v1', { action: 'delete', digest: v1 });

    const skipped = await run('delete-1');
    await run('delete-2'); // the source still has team-a/app:v1
    removeTag(source, 'team-a/app', 'v1');
    const deleted = await run('delete-3');

    const ending = (id: string) => jobs.jobs.get(id)?.history.at(-1);
    expect(ending('delete-1')).toMatchObject({
      status: 'SKIPPED',
      note: expect.stringMatching(/^not deleted: tag-moved: /),
    });
    expect(ending('delete-2')).toMatchObject({
      status: 'SKIPPED',
      note: `not deleted: tag-exists-at-source: the source has the tag again (${v1})`,
    });
    expect(jobs.jobs.get('delete-3')?.status).toBe('SUCCEEDED');
    expect(await listTags(destination, 'mirror/team-a/app')).toEqual([]);
    // The first state checks the delete (the record calls it CheckTag): three transitions, or two.
    expect(deleted).toEqual(['FetchManifest', 'Route', 'DeleteManifest']);
    expect(skipped).toEqual(['FetchManifest', 'Route', 'Skipped']);
    expect(jobs.jobs.get('delete-3')?.substates).toEqual(['CheckTag', 'DeleteManifest']);
  });
});
