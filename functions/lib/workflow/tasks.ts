import { checkManifest } from '#replication/check-manifest.ts';
import { checkDelete, deleteTag, describeRefusal } from '#replication/delete-tag.ts';
import { fetchAnnouncedManifest, fetchManifest, manifestsInPushOrder } from '#replication/fetch-manifest.ts';
import { mapLimit } from '#replication/limit.ts';
import { pushManifest } from '#replication/push-manifest.ts';
import { holdsBlob } from '#replication/shared-blob.ts';
import type { ManifestCache, RepositoryRef } from '#replication/types.ts';
import { JobNotFoundError, JobTransitionError } from '../jobs/errors.ts';
import {
  isTerminal,
  type Job,
  type JobError,
  type OpenUpload,
  type Progress,
  type TerminalStatus,
} from '../jobs/job.ts';
import { carriedManifests, carryManifests, withManifests } from './carried-manifests.ts';
import { copyLane, type LaneCopied, type Sides } from './copy-lane.ts';
import {
  CopyContinuesError,
  JobCancelledError,
  JobEndedError,
  SharedBlobBusyError,
  StaleAttemptError,
  UnknownActionError,
} from './errors.ts';
import type { WorkflowFunction } from './functions.ts';
import { type BlobRef, dealLanes, type JobPlan, keptLane, type Lane, laneToCopy } from './lanes.ts';
import type { TaskDependencies } from './ports.ts';

/**
 * The work of each Task state of `infra/workflow.asl.json`, as plain functions of JSON in,
 * JSON out. A Lambda handler (or the local runtime) calls one per state. Every task re-reads
 * the job, records each substate as it enters it (so a failure names the state it failed in),
 * and stops with JobCancelledError when the job was cancelled. The first task of a job records
 * it RUNNING and the last one its final status: few states, few invocations
 * (docs/performance.md, "State transitions").
 */

export interface TaskInput {
  jobId: string;
  attempt: number;
}

/**
 * Reads the task's job (checks its attempt, cancel flag and status) and records the substate
 * entered; `entry: false` when the task knows it is the current substate already (no history
 * entry is tried).
 */
async function load(
  deps: TaskDependencies,
  input: TaskInput,
  substate: string,
  options: { entry?: boolean } = {},
): Promise<Job> {
  // The common case in one round trip; a refusal is read below to say why.
  const entered = await deps.jobs.enterSubstate?.(input.jobId, input.attempt, substate, options);
  if (entered) return entered;
  const job = await deps.jobs.get(input.jobId);
  if (!job) throw new JobNotFoundError(`job ${input.jobId} is not in the records`);
  if (job.attempt !== input.attempt) {
    throw new StaleAttemptError(
      `job ${job.id} is at attempt ${job.attempt}; this execution runs attempt ${input.attempt}`,
    );
  }
  if (job.cancelRequested) throw new JobCancelledError(`job ${job.id} was cancelled`);
  if (isTerminal(job.status)) throw new JobEndedError(job.id, job.status);
  await deps.jobs.setSubstate(job, substate);
  return { ...job, substate };
}

/** The first task of a job: RUNNING for this attempt and execution, entering its substate, in one status change. */
async function start(
  deps: TaskDependencies,
  input: TaskInput & { executionArn: string },
  substate: string,
): Promise<Job> {
  let job: Job;
  try {
    job = await deps.jobs.markRunning(input.jobId, input.attempt, input.executionArn, substate);
  } catch (error) {
    // This execution ended the job itself before (its answer was lost, the task is tried again).
    const ended = error instanceof JobTransitionError ? await deps.jobs.get(input.jobId) : undefined;
    if (
      ended &&
      isTerminal(ended.status) &&
      ended.attempt === input.attempt &&
      ended.executionArn === input.executionArn
    )
      throw new JobEndedError(ended.id, ended.status);
    throw error;
  }
  if (job.cancelRequested) throw new JobCancelledError(`job ${job.id} was cancelled`);
  // The same execution again (a retried task, or the job driven on after a restart): it was RUNNING
  // already, further on; record that it starts over.
  if (job.substate !== substate) await enter(deps, job, substate);
  return job;
}

/**
 * Records the next substate of the task's job (one write) and keeps the task's copy in step;
 * `passing`, a substate entered and left on the way, goes into the same write.
 */
async function enter(
  deps: TaskDependencies,
  job: Job,
  substate: string,
  progress?: Progress,
  passing?: string,
): Promise<void> {
  await deps.jobs.setSubstate(job, substate, progress, passing);
  job.substate = substate;
}

async function sides(deps: TaskDependencies, job: Job): Promise<Sides> {
  const [source, destination] = await Promise.all([
    deps.clients.client(job.sourceRegistry),
    deps.clients.client(job.destinationRegistry),
  ]);
  return {
    source: { client: source, repository: job.sourceRepository },
    destination: { client: destination, repository: job.destinationRepository },
  };
}

/** The plan of a job that ended already (SKIPPED): Route ends the execution. */
const ENDED: JobPlan = { next: 'skip', digest: '', lanes: [] };

/** Missing blobs at most this many bytes in all: FetchManifest copies them itself, no Map. */
export const DEFAULT_INLINE_COPY_BYTES = 32 * 1024 * 1024;

/**
 * FetchManifest, the first state of every job. A push: records RUNNING; resolves the tag as it
 * is at the source now (a newer push wins over the event's digest); CheckManifest — the
 * destination holds that digest under the tag already → SKIPPED (ends cycles); CheckBlobs — one
 * HEAD per blob; then copies the missing blobs itself when they are few bytes, else deals them
 * into lanes for the CopyBlobs Map (lanes.ts). Each substate is recorded as it is entered. A
 * delete: CheckTag (`checkTag`), in this state so that no Choice on the action comes first:
 * one state transition less for every job (docs/performance.md).
 */
export async function fetchManifestTask(
  deps: TaskDependencies,
  input: TaskInput & {
    executionArn: string;
    /** The execution's start time: what FetchManifest leaves of its copy is kept under it (KeptLane). */
    started: string;
    /** The CopyBlobs Map's concurrency, from the workflow: the most lanes it runs at once. */
    blobsPerJob: number;
    /** The job's action, from the execution's input (absent: a push, as older definitions sent it). */
    action?: string | undefined;
  },
): Promise<JobPlan> {
  if (input.action === 'delete') return checkTag(deps, input);
  if (input.action !== undefined && input.action !== 'push')
    throw new UnknownActionError(
      `the job's action is neither push nor delete: ${JSON.stringify(input.action)}`,
    );
  let job: Job;
  try {
    job = await start(deps, input, 'FetchManifest');
  } catch (error) {
    // Skipped by this execution's first try: Route ends it the same way.
    if (error instanceof JobEndedError && error.status === 'SKIPPED') return ENDED;
    throw error;
  }
  const { source, destination } = await sides(deps, job);
  const read: ManifestCache = new Map();
  // Independent round trips side by side: the destination's tag with the source's manifest, then
  // the blobs with the comparison (HEADs a present manifest makes moot cost less than waiting).
  // Nothing is left running when the task answers (a Lambda would freeze it): each side request
  // is settled before the task goes on or fails.
  const found = destination.client.manifests.head(destination.repository, job.tag);
  const fetching = await Promise.allSettled([
    // An event may name a tag the source links only just after sending it (fetch-manifest.ts).
    fetchAnnouncedManifest(source.client, source.repository, job.tag, {
      cache: read,
      ...(deps.signal ? { signal: deps.signal } : {}),
    }),
    found,
  ]);
  if (fetching[0].status === 'rejected') throw fetching[0].reason;
  const fetched = fetching[0].value;
  const digest = fetched.root.digest;
  // What PushManifest pushes, with the bytes read here (carried-manifests.ts).
  const plan = (next: 'push' | 'copy', lanes: Lane[]): JobPlan =>
    withManifests(
      { next, digest, lanes },
      carryManifests(
        read,
        manifestsInPushOrder(fetched.root).map((node) => node.digest),
      ),
    );

  // The checks only read: they go out while CheckManifest is recorded, and nothing is decided
  // or reported before that write is done, so a failure still names the substate it failed in.
  const [entered, checks] = await Promise.allSettled([
    enter(deps, job, 'CheckManifest'),
    Promise.allSettled([
      checkManifest(destination.client, destination.repository, job.tag, digest, {
        found,
        ...(job.override === undefined ? {} : { override: job.override }),
      }),
      missingBlobs(deps, destination, fetched.blobs),
    ]),
  ]);
  if (entered.status === 'rejected') throw entered.reason;
  if (checks.status === 'rejected') throw checks.reason; // allSettled does not reject
  const [checked, checkedBlobs] = checks.value;
  if (checked.status === 'rejected') throw checked.reason;
  if (checked.value.present) {
    await deps.jobs.end(job.id, 'SKIPPED', undefined, job.attempt, `the destination holds ${digest} already`);
    return { next: 'skip', digest, lanes: [] };
  }

  // The HEADs are done: the substate is entered with what they found, in one write — with
  // MountOrCopyBlobs after it when blobs must move (its lanes, or the copies here, follow at once).
  const missing = checkedBlobs.status === 'fulfilled' ? checkedBlobs.value : undefined;
  const present = missing && { present: fetched.blobs.length - missing.length };
  if (!missing?.length) {
    await enter(deps, job, 'CheckBlobs', present);
    if (checkedBlobs.status === 'rejected') throw checkedBlobs.reason;
    return plan('push', []);
  }
  await enter(deps, job, 'MountOrCopyBlobs', present, 'CheckBlobs');
  // An execution before this one of the same attempt (the job driven on after a restart) may have left big blobs half sent.
  const uploads = openUploads(job).filter((open) => missing.some((blob) => blob.digest === open.digest));
  const bytes = missing.reduce((sum, blob) => sum + blob.size, 0);
  const { blobsPerJob } = input;
  if (
    uploads.length > 0 ||
    bytes > Math.min(deps.inlineCopyBytes ?? DEFAULT_INLINE_COPY_BYTES, deps.byteBudget)
  )
    return plan('copy', dealLanes(digest, missing, blobsPerJob, uploads, deps.laneCostBytes));
  const lane = { digest, blobs: missing, upload: null };
  const copied = await copyLane(deps, job, { source, destination }, lane, blobsPerJob);
  await deps.jobs.setSubstate(job, 'MountOrCopyBlobs', copied.progress);
  if (!copied.left) return plan('push', []);
  // The one lane of CopyBlobs: its first invocation takes it from here (the Map's lane 0).
  await deps.jobs.keepLane(job.id, 0, keptLane(copied.left, input.started));
  return plan('copy', [copied.left]);
}

/** The open uploads the job's lanes kept. */
function openUploads(job: Job): OpenUpload[] {
  return Object.values(job.lanes ?? {}).flatMap((lane) => (lane.upload ? [lane.upload] : []));
}

/** The blobs the destination repository lacks, one HEAD each; those it holds go in the blob index. */
async function missingBlobs(deps: TaskDependencies, destination: RepositoryRef, blobs: BlobRef[]) {
  const held = await mapLimit(blobs, HEADS_AT_ONCE, (blob) => holdsBlob(destination, blob, deps.sharedBlobs));
  return blobs.filter((_, i) => !held[i]);
}

const HEADS_AT_ONCE = 8;

/**
 * MountOrCopyBlobs, one lane of the CopyBlobs Map: mounts or streams the lane's blobs in turn
 * within the invocation's byte budget (copy-lane.ts). A lane it cannot finish is kept in the
 * job's record and the invocation fails with CopyContinuesError or SharedBlobBusyError: the
 * state's Retry calls it again with the same input, and it goes on from what was kept. So a
 * lane's further rounds cost one state transition each, and a job with none needs no Choice
 * after the Map (docs/performance.md).
 */
export async function mountOrCopyBlobsTask(
  deps: TaskDependencies,
  input: TaskInput & {
    lane: Lane;
    /** The lane's index in the Map (`$$.Map.Item.Index`): where the record keeps what it leaves. */
    index: number;
    /** The execution's start time (`$$.Execution.StartTime`). */
    started: string;
  },
): Promise<{ done: true; waiting: false }> {
  // FetchManifest entered MountOrCopyBlobs before dealing the lanes: no entry to try.
  const job = await load(deps, input, 'MountOrCopyBlobs', { entry: false });
  const lane = laneToCopy(input.lane, job.lanes?.[input.index], input.started);
  const copied = await copyLane(deps, job, await sides(deps, job), lane, 1);
  await deps.jobs.setSubstate(job, 'MountOrCopyBlobs', copied.progress);
  if (copied.left) {
    // An execution of the definition before the lanes' Retry has no way on (docs/deploy.md).
    if (typeof input.started !== 'string')
      throw new CopyContinuesError(
        `the lane is unfinished and this execution's workflow definition is older than its Retry: retry the job`,
      );
    await deps.jobs.keepLane(job.id, input.index, keptLane(copied.left, input.started));
    throw laneGoesOn(copied.left, copied);
  }
  // What a workflow definition before the lanes' Retry read of a finished lane (its Route).
  return { done: true, waiting: false };
}

/** Why the lane's next invocation is needed, as the state's Retry matches it (infra/workflow.ts). */
function laneGoesOn(left: Lane, { waiting, progress }: LaneCopied): Error {
  const count = `${left.blobs.length} blob${left.blobs.length === 1 ? '' : 's'}`;
  return waiting
    ? new SharedBlobBusyError(
        `${count} of the lane are being copied by another job: mounting them when it lands`,
      )
    : new CopyContinuesError(
        `${progress.bytes} bytes sent, the invocation's byte budget: ${count} left to the next`,
      );
}

/** PushManifest, the last state of a push: children of an index, then the index, then the tag; SUCCEEDED. */
export async function pushManifestTask(
  deps: TaskDependencies,
  input: TaskInput & {
    digest: string;
    /** FetchManifest's plan (`$.plan.value`): the manifests it read, when it carried them. */
    plan?: { manifests?: unknown } | undefined;
  },
): Promise<{ pushed: string[] }> {
  let job: Job;
  try {
    job = await load(deps, input, 'PushManifest');
  } catch (error) {
    // Pushed and SUCCEEDED by the first try: pushing again could move a tag the next job of this
    // tag (its lock handed on at the end) has pushed since.
    if (error instanceof JobEndedError && error.status === 'SUCCEEDED') return { pushed: [] };
    throw error;
  }
  const { source, destination } = await sides(deps, job);
  // By digest: what was checked and copied is what gets pushed, even if the tag moved since.
  // The bytes FetchManifest read are the ones pushed: carried in the plan, or read here once.
  const cache = carriedManifests(input.plan?.manifests);
  const plan = await fetchManifest(source.client, source.repository, input.digest, { cache });
  const { pushed } = await pushManifest(source, destination, plan, { tag: job.tag, cache });
  await deps.jobs.end(job.id, 'SUCCEEDED', undefined, job.attempt);
  return { pushed };
}

/**
 * CheckTag, the first substate of a delete (run by the FetchManifest state): records RUNNING;
 * may the delete happen (replication/delete-tag.ts `checkDelete`)? When it may not, the job
 * ends SKIPPED here with the reason in its history, and Route ends the execution.
 */
async function checkTag(
  deps: TaskDependencies,
  input: TaskInput & { executionArn: string },
): Promise<JobPlan> {
  let job: Job;
  try {
    job = await start(deps, input, 'CheckTag');
  } catch (error) {
    if (error instanceof JobEndedError && error.status === 'SKIPPED') return ENDED;
    throw error;
  }
  if (job.digest === undefined) {
    await skipDelete(deps, job, NO_DIGEST);
    return ENDED;
  }
  const refusal = await checkDelete({ ...(await sides(deps, job)), tag: job.tag, deletedDigest: job.digest });
  if (refusal) {
    await skipDelete(deps, job, describeRefusal(refusal));
    return ENDED;
  }
  return { next: 'delete', digest: job.digest, lanes: [] };
}

/**
 * DeleteManifest: checks again (a tag may have been pushed since CheckTag), then deletes and
 * ends the job SUCCEEDED; a refusal now ends it SKIPPED with its reason.
 */
export async function deleteManifestTask(
  deps: TaskDependencies,
  input: TaskInput,
): Promise<{ deleted: boolean; skipped?: string }> {
  let job: Job;
  try {
    job = await load(deps, input, 'DeleteManifest');
  } catch (error) {
    if (error instanceof JobEndedError && error.status === 'SUCCEEDED') return { deleted: true };
    if (error instanceof JobEndedError && error.status === 'SKIPPED')
      return { deleted: false, skipped: 'ended SKIPPED already' };
    throw error;
  }
  if (job.digest === undefined) return { deleted: false, skipped: await skipDelete(deps, job, NO_DIGEST) };
  const result = await deleteTag({ ...(await sides(deps, job)), tag: job.tag, deletedDigest: job.digest });
  if (result.deleted) {
    await deps.jobs.end(job.id, 'SUCCEEDED', undefined, job.attempt);
    return { deleted: true };
  }
  return { deleted: false, skipped: await skipDelete(deps, job, describeRefusal(result)) };
}

const NO_DIGEST = 'the event named no digest';

/** Ends a delete job SKIPPED, the reason in its history; answers the note. */
async function skipDelete(deps: TaskDependencies, job: Job, reason: string): Promise<string> {
  const note = `not deleted: ${reason}`;
  await deps.jobs.end(job.id, 'SKIPPED', undefined, job.attempt, note);
  return note;
}

export interface RecordStateInput extends TaskInput {
  status: Extract<TerminalStatus, 'FAILED' | 'CANCELLED'>;
  executionArn: string;
  /** What a Catch put at `$.error`: `{ Error, Cause }`. */
  error?: { Error?: string; Cause?: string };
}

/** The Cause of a caught Lambda error is JSON on AWS (`{errorMessage,…}`) and plain text locally. */
function causeMessage(cause: string | undefined): string {
  if (cause === undefined) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

/**
 * RecordFailed / RecordCancelled: a caught error ends the job's record with the error and the
 * substate it happened in. (RUNNING, SUCCEEDED and SKIPPED are recorded by the tasks that decide them.)
 */
export async function recordStateTask(
  deps: TaskDependencies,
  input: RecordStateInput,
): Promise<{ recorded: boolean }> {
  let error: JobError | undefined;
  if (input.error) {
    const job = await deps.jobs.get(input.jobId);
    error = {
      code: input.error.Error ?? 'Error',
      message: causeMessage(input.error.Cause),
      state: job?.substate,
    };
  }
  return { recorded: await deps.jobs.end(input.jobId, input.status, error, input.attempt) };
}

// biome-ignore lint/suspicious/noExplicitAny: each task takes its own input shape from the ASL.
export type Task = (deps: TaskDependencies, input: any) => Promise<unknown>;

/** The code of each workflow function (functions.ts): the compiler checks none is missing. */
export const TASKS: Record<WorkflowFunction, Task> = {
  RecordState: recordStateTask,
  FetchManifest: fetchManifestTask,
  MountOrCopyBlobs: mountOrCopyBlobsTask,
  PushManifest: pushManifestTask,
  DeleteManifest: deleteManifestTask,
};
