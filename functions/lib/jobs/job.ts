/**
 * The job, the one model every part of the pipeline uses (docs/architecture.md, "The job"):
 * one action on one tag of one repository for one policy. The webhook and scans make them, the
 * dispatcher admits them, the workflow runs them, the API shows them, the stores persist them.
 * Its statuses and how it moves between them are in `transitions.ts`; how it ends, in
 * `lifecycle.ts`.
 */

export type JobAction = 'push' | 'delete';

export const UNFINISHED_STATUSES = ['QUEUED', 'RUNNING'] as const;
export const TERMINAL_STATUSES = ['SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELLED'] as const;
/** Every status, in the order a job goes through them. */
export const JOB_STATUSES = [...UNFINISHED_STATUSES, ...TERMINAL_STATUSES] as const;

export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type JobStatus = (typeof JOB_STATUSES)[number];

export function isTerminal(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export function isJobStatus(status: string): status is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(status);
}

/** What a job is about, wherever it is handled. */
export interface JobTarget {
  id: string;
  policy: string;
  action: JobAction;
  sourceRegistry: string;
  sourceRepository: string;
  tag: string;
  /** For a delete: the digest deleted at the source. For a push: the digest the event named. */
  digest?: string | undefined;
  destinationRegistry: string;
  destinationRepository: string;
  /** The policy's `override`: replace a destination tag that points at another digest. */
  override?: boolean | undefined;
  /** What made the job: a registry's event (default) or a policy's scan, admitted after events. */
  origin?: 'event' | 'scan' | undefined;
}

/** A job to record: nothing has run yet. Without an id it gets a new sortable one. */
export interface NewJob extends Omit<JobTarget, 'id'> {
  /** The webhook and scans derive ids from what made the job (the same delivery, the same job). */
  id?: string | undefined;
}

export interface JobError {
  code: string;
  message: string;
  /** The substate the job was in when it failed. */
  state?: string | undefined;
}

export interface BlobCounts {
  copied: number;
  mounted: number;
  present: number;
}

/** Progress a workflow task adds to the record: blobs by outcome, and bytes sent. */
export interface Progress {
  copied?: number;
  mounted?: number;
  present?: number;
  /** Bytes sent, added to `bytesCopied`. */
  bytes?: number;
}

/**
 * A chunked upload of a big blob that one invocation left open for the next: the registry
 * client's upload session (`UploadSession`: location, offset) of the blob `digest`.
 */
export interface OpenUpload {
  digest: string;
  location: string;
  offset: number;
}

/**
 * What one invocation left of a lane of the workflow's CopyBlobs Map, kept for the next: the
 * state's Retry calls MountOrCopyBlobs again with the same input (docs/architecture.md,
 * "Workflow"), which reads this instead. The job's record keeps one per lane index.
 */
export interface KeptLane {
  /**
   * The execution's start time (`$$.Execution.StartTime`): a job driven on after a restart runs
   * an execution of the same name, which deals its lanes anew and must not take these.
   */
  started: string;
  /** The digests of the lane's blobs still to move, in order. */
  blobs: string[];
  /** The first blob's open upload (a big blob past the invocation's byte budget). */
  upload?: OpenUpload | undefined;
}

/**
 * Why a QUEUED job is not moving, by design: it waits for its tag (another job holds the tag
 * lock and hands it over when it ends) or for a running slot (the dispatcher admits it when
 * one frees). A QUEUED job without a wait is on its way to the dispatcher. Recovery tells a
 * parked job from a lost one by this.
 */
export type JobWait =
  | { reason: 'tag'; since: string /** The job that holds the tag. */; holder: string }
  | { reason: 'slot'; since: string };

export interface JobHistoryEntry {
  at: string;
  status: JobStatus;
  substate?: string;
  attempt: number;
  note?: string;
}

/** A job as the records hold it. `jobs show` and the API answer it (without the upload's URL). */
export interface Job extends JobTarget {
  status: JobStatus;
  /** The workflow state being worked on (FetchManifest, MountOrCopyBlobs, …). */
  substate?: string | undefined;
  /** 1 for the first run; `retry` adds one. Executions are named `<id>-<attempt>`. */
  attempt: number;
  cancelRequested: boolean;
  blobs: BlobCounts;
  bytesCopied: number;
  error?: JobError | undefined;
  executionArn?: string | undefined;
  /** Present while a QUEUED job waits by design. */
  wait?: JobWait | undefined;
  createdAt: string;
  updatedAt: string;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  /** Append-only; the oldest entries go beyond HISTORY_LIMIT. */
  history: JobHistoryEntry[];
  /** What the copy's unfinished lanes left, by lane index (KeptLane). */
  lanes?: Record<string, KeptLane> | undefined;
}

export const HISTORY_LIMIT = 100;

/** What submitting a job answers. */
export interface SubmittedJob {
  jobId: string;
  attempt: number;
  /** True when the job holds its tag and waits in QUEUED: the caller sends its message. */
  enqueue: boolean;
}
