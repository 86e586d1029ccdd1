import type { Descriptor } from '#registry/manifests.ts';
import type { SharedBlobs } from '#replication/blob-index.ts';
import { checkManifest } from '#replication/check-manifest.ts';
import { type CopyBlobInput, copyBlob, DEFAULT_MONOLITHIC_LIMIT } from '#replication/copy-blob.ts';
import { checkDelete, deleteTag, describeRefusal } from '#replication/delete-tag.ts';
import { fetchManifest } from '#replication/fetch-manifest.ts';
import { pushManifest } from '#replication/push-manifest.ts';
import { copySharedBlob, sharesBlob } from '#replication/shared-blob.ts';
import type { RepositoryRef } from '#replication/types.ts';
import { JobNotFoundError } from '../jobs/errors.ts';
import type { Job, JobError, OpenUpload, TerminalStatus } from '../jobs/job.ts';
import { watchCancellation } from './cancellation.ts';
import { JobCancelledError, StaleAttemptError } from './errors.ts';
import type { WorkflowFunction } from './functions.ts';
import type { RegistryClients, WorkflowJobs } from './ports.ts';

/**
 * The work of each Task state of `infra/workflow.asl.json`, as plain functions of JSON in,
 * JSON out. A Lambda handler (or the local runtime) calls one per state. Every task re-reads
 * the job, records its substate first (so a failure names the state it failed in), and stops
 * with JobCancelledError when the job was cancelled.
 */

export interface TaskDependencies {
  jobs: WorkflowJobs;
  clients: RegistryClients;
  /** Bytes one MountOrCopyBlob invocation may send before handing the upload to the next. */
  byteBudget: number;
  chunkSize?: number;
  /** How often a long copy re-reads the cancel flag. */
  cancelPollMs?: number;
  /** Aborts the invocation's work (the local runtime's function timeout, or its shutdown). */
  signal?: AbortSignal | undefined;
  /** Milliseconds the invocation has left (Lambda's getRemainingTimeInMillis): a copy stops in time. */
  timeLeft?: (() => number) | undefined;
  /**
   * Where blobs are in the destination registries, and the claims to copy one (the table's
   * BlobIndexStore and BlobClaimStore): a blob another repository holds is mounted, and of the
   * jobs needing the same blob at once one copies it while the others wait, then mount it.
   */
  sharedBlobs?: SharedBlobs;
  /**
   * How long one MountOrCopyBlob invocation waits for another job's copy of its blob before it
   * returns `waiting` (the workflow's Wait state then frees the invocation for a while).
   */
  claimWaitMs?: number;
  /** How often a copy renews its claim: a third of the claim's time to live. */
  renewClaimEveryMs?: number;
  /** Where a task reports what an operator should see (a stalled source): the function's log. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

export interface TaskInput {
  jobId: string;
  attempt: number;
}

/**
 * Reads the task's job (checks its attempt and cancel flag) and records the substate entered,
 * unless `record: false` (a task that records it with its progress when done: one write).
 */
async function load(
  deps: TaskDependencies,
  input: TaskInput,
  substate: string,
  options: { record?: boolean } = {},
): Promise<Job> {
  // The common case in one round trip; a refusal is read below to say why.
  if (options.record !== false) {
    const entered = await deps.jobs.enterSubstate?.(input.jobId, input.attempt, substate);
    if (entered) return entered;
  }
  const job = await deps.jobs.get(input.jobId);
  if (!job) throw new JobNotFoundError(`job ${input.jobId} is not in the records`);
  if (job.attempt !== input.attempt) {
    throw new StaleAttemptError(
      `job ${job.id} is at attempt ${job.attempt}; this execution runs attempt ${input.attempt}`,
    );
  }
  if (job.cancelRequested) throw new JobCancelledError(`job ${job.id} was cancelled`);
  if (options.record === false) return job;
  await deps.jobs.setSubstate(job, substate);
  return { ...job, substate };
}

async function sides(
  deps: TaskDependencies,
  job: Job,
): Promise<{ source: RepositoryRef; destination: RepositoryRef }> {
  const [source, destination] = await Promise.all([
    deps.clients.client(job.sourceRegistry),
    deps.clients.client(job.destinationRegistry),
  ]);
  return {
    source: { client: source, repository: job.sourceRepository },
    destination: { client: destination, repository: job.destinationRepository },
  };
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  blobs: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>[];
}

/** FetchManifest: the tag as it is at the source now (a newer push wins over the event's digest). */
export async function fetchManifestTask(deps: TaskDependencies, input: TaskInput): Promise<FetchedManifest> {
  const job = await load(deps, input, 'FetchManifest');
  const { source } = await sides(deps, job);
  const plan = await fetchManifest(source.client, source.repository, job.tag);
  return { digest: plan.root.digest, mediaType: plan.root.mediaType, blobs: plan.blobs };
}

/** CheckManifest: present at the destination under the tag → SKIPPED (ends cycles). */
export async function checkManifestTask(
  deps: TaskDependencies,
  input: TaskInput & { digest: string },
): Promise<{ present: boolean }> {
  const job = await load(deps, input, 'CheckManifest');
  const { destination } = await sides(deps, job);
  const check = await checkManifest(destination.client, destination.repository, job.tag, input.digest, {
    ...(job.override === undefined ? {} : { override: job.override }),
  });
  return { present: check.present };
}

export interface BlobState {
  present: boolean;
  done?: boolean;
  /** Another job is copying this blob into the destination registry: come back and mount it. */
  waiting?: boolean;
  upload?: OpenUpload | null;
}

/** How long a MountOrCopyBlob invocation waits for another job's copy before it hands back. */
export const DEFAULT_CLAIM_WAIT_MS = 5000;

/** CheckBlob: the destination repository has it → nothing to do; an open upload of it → resume. */
export async function checkBlobTask(
  deps: TaskDependencies,
  input: TaskInput & { blob: Descriptor },
): Promise<BlobState> {
  const job = await load(deps, input, 'CheckBlob', { record: false });
  const { destination } = await sides(deps, job);
  const size = await destination.client.blobs.head(destination.repository, input.blob.digest);
  await deps.jobs.setSubstate(job, 'CheckBlob', size !== undefined ? { present: 1 } : {});
  if (size !== undefined) {
    if (deps.sharedBlobs && sharesBlob(deps.sharedBlobs, input.blob))
      await deps.sharedBlobs.index.remember(
        destination.client.host,
        input.blob.digest,
        destination.repository,
      );
    return { present: true };
  }
  const upload = job.upload?.digest === input.blob.digest ? job.upload : null;
  return { present: false, upload };
}

/**
 * MountOrCopyBlob: mount, else stream up to the byte budget. A blob left unfinished returns
 * `done: false` with its open upload, and the workflow calls this state again.
 */
export async function mountOrCopyBlobTask(
  deps: TaskDependencies,
  input: TaskInput & { blob: Descriptor; upload?: OpenUpload | null },
): Promise<BlobState> {
  const job = await load(deps, input, 'MountOrCopyBlob');
  const { source, destination } = await sides(deps, job);
  const cancellation = watchCancellation(deps.jobs, job.id, deps.cancelPollMs ?? 2000);
  const signal = deps.signal ? AbortSignal.any([cancellation.signal, deps.signal]) : cancellation.signal;
  try {
    const copy: CopyBlobInput = {
      source,
      destination,
      blob: input.blob,
      mountFrom: source.client.host === destination.client.host ? [source.repository] : [],
      // CheckBlob looked: one HEAD per blob and job.
      skipCheck: true,
      byteBudget: deps.byteBudget,
      // A blob over the budget goes in chunks, so it can stop at the budget and resume.
      monolithicLimit: Math.min(DEFAULT_MONOLITHIC_LIMIT, deps.byteBudget),
      signal,
      timeLeft: deps.timeLeft,
      onStall: (stall) =>
        deps.warn?.(stall.message, {
          jobId: job.id,
          digest: stall.digest,
          stallsWithoutProgress: stall.stallsWithoutProgress,
          givingUp: stall.givingUp,
        }),
      ...(input.upload ? { resume: { location: input.upload.location, offset: input.upload.offset } } : {}),
      ...(deps.chunkSize ? { chunkSize: deps.chunkSize } : {}),
    };
    const result = deps.sharedBlobs
      ? await copySharedBlob({
          ...copy,
          shared: deps.sharedBlobs,
          // The job's attempt: its next invocations (a big blob's chunks) keep the claim.
          holder: `${job.id}#${job.attempt}`,
          waitMs: deps.claimWaitMs ?? DEFAULT_CLAIM_WAIT_MS,
          ...(deps.renewClaimEveryMs ? { renewClaimEveryMs: deps.renewClaimEveryMs } : {}),
        })
      : await copyBlob(copy);
    if (result.outcome === 'waiting') return { present: false, done: false, waiting: true, upload: null };
    if (result.outcome === 'partial') {
      const upload = { digest: input.blob.digest, ...result.upload };
      await deps.jobs.setUpload(job.id, upload);
      await deps.jobs.setSubstate(job, 'MountOrCopyBlob', { bytes: result.bytesSent });
      return { present: false, done: false, waiting: false, upload };
    }
    if (input.upload) await deps.jobs.setUpload(job.id, undefined);
    const progress =
      result.outcome === 'mounted'
        ? { mounted: 1 }
        : result.outcome === 'present'
          ? { present: 1 }
          : { copied: 1, bytes: result.bytesSent };
    await deps.jobs.setSubstate(job, 'MountOrCopyBlob', progress);
    return { present: false, done: true, waiting: false, upload: null };
  } finally {
    cancellation.stop();
  }
}

/** PushManifest: children of an index, then the index, then the tag. */
export async function pushManifestTask(
  deps: TaskDependencies,
  input: TaskInput & { digest: string },
): Promise<{ pushed: string[] }> {
  const job = await load(deps, input, 'PushManifest');
  const { source, destination } = await sides(deps, job);
  // By digest: what was checked and copied is what gets pushed, even if the tag moved since.
  const plan = await fetchManifest(source.client, source.repository, input.digest);
  const { pushed } = await pushManifest(source, destination, plan, { tag: job.tag });
  return { pushed };
}

/**
 * CheckTag: may the delete happen (replication/delete-tag.ts `checkDelete`)? When it may not,
 * the job ends SKIPPED here with the reason in its history (the RecordSkipped state that follows
 * finds it ended).
 */
export async function checkTagTask(
  deps: TaskDependencies,
  input: TaskInput,
): Promise<{ matches: boolean; skipped?: string }> {
  const job = await load(deps, input, 'CheckTag');
  if (job.digest === undefined) return { matches: false, skipped: await skipDelete(deps, job, NO_DIGEST) };
  const refusal = await checkDelete({ ...(await sides(deps, job)), tag: job.tag, deletedDigest: job.digest });
  if (refusal) return { matches: false, skipped: await skipDelete(deps, job, describeRefusal(refusal)) };
  return { matches: true };
}

/**
 * DeleteManifest: checks again (a tag may have been pushed since CheckTag), then deletes. A
 * refusal now ends the job SKIPPED with its reason, so the RecordSucceeded state that follows
 * changes nothing.
 */
export async function deleteManifestTask(
  deps: TaskDependencies,
  input: TaskInput,
): Promise<{ deleted: boolean; skipped?: string }> {
  const job = await load(deps, input, 'DeleteManifest');
  if (job.digest === undefined) return { deleted: false, skipped: await skipDelete(deps, job, NO_DIGEST) };
  const result = await deleteTag({ ...(await sides(deps, job)), tag: job.tag, deletedDigest: job.digest });
  if (result.deleted) return { deleted: true };
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
  status: 'RUNNING' | TerminalStatus;
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
 * RecordRunning / RecordSucceeded / RecordSkipped / RecordCancelled / RecordFailed: the job's
 * record follows the execution. RUNNING answers the job's details for the Choice on its action.
 */
export async function recordStateTask(
  deps: TaskDependencies,
  input: RecordStateInput,
): Promise<Pick<Job, 'id' | 'action' | 'tag'> | { recorded: boolean }> {
  if (input.status === 'RUNNING') {
    const job = await deps.jobs.markRunning(input.jobId, input.attempt, input.executionArn);
    return { id: job.id, action: job.action, tag: job.tag };
  }
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
  CheckManifest: checkManifestTask,
  CheckBlob: checkBlobTask,
  MountOrCopyBlob: mountOrCopyBlobTask,
  PushManifest: pushManifestTask,
  CheckTag: checkTagTask,
  DeleteManifest: deleteManifestTask,
};
