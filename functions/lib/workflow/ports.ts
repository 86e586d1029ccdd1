import type { RegistryClient } from '#registry/client.ts';
import type { SharedBlobs } from '#replication/blob-index.ts';
import type { Job, JobError, KeptLane, Progress, TerminalStatus } from '../jobs/job.ts';
import type { SlotLending } from '../jobs/slot-lending.ts';

/**
 * What the workflow tasks need from the outside, as interfaces: the job records and the job
 * lifecycle (DynamoDB when deployed, dynalite locally), and registry clients by the config's
 * registry name.
 */

/** What a task knows of its job from its own read. */
export type KnownJob = Pick<Job, 'id' | 'attempt' | 'substate'>;

export interface WorkflowJobs {
  get(id: string): Promise<Job | undefined>;
  /**
   * RUNNING for this attempt and execution, entering `substate` (the first task's), in one
   * status change; answers the job as it is now (unchanged when this execution ran it already).
   */
  markRunning(id: string, attempt: number, executionArn: string, substate?: string): Promise<Job>;
  /**
   * Ends the job through the job lifecycle (its slot freed, its tag handed on); false when it
   * had ended already, or when `attempt` is not the job's (a retry superseded this execution).
   * `note` goes into the history entry of the final status (why a job was SKIPPED).
   */
  end(
    id: string,
    status: TerminalStatus,
    error?: JobError,
    attempt?: number,
    note?: string,
  ): Promise<boolean>;
  /**
   * Records the substate being entered (and progress made), so the console and `jobs show`
   * follow it. `job` is the job as the task read it: its attempt and substate spare a read.
   * `passing`: a substate entered and left on the way, recorded first in the same write.
   */
  setSubstate(job: KnownJob, substate: string, progress?: Progress, passing?: string): Promise<void>;
  /**
   * Enters a substate in one write while the job runs this attempt and is not cancelled (two
   * when it is the current one already, unless `entry` is false: then no history entry is
   * tried); undefined when that does not hold: read it then.
   */
  enterSubstate?(
    id: string,
    attempt: number,
    substate: string,
    options?: { entry?: boolean },
  ): Promise<Job | undefined>;
  /** Keeps what an invocation left of a CopyBlobs lane for the lane's next invocation. */
  keepLane(id: string, index: number, lane: KeptLane): Promise<void>;
  isCancelRequested(id: string): Promise<boolean>;
}

export interface RegistryClients {
  /** The client of a registry declared in the config (only those are ever contacted). */
  client(registryName: string): Promise<RegistryClient>;
}

/** What the tasks are given: the ports above and the invocation's limits. */
export interface TaskDependencies {
  jobs: WorkflowJobs;
  clients: RegistryClients;
  /** Bytes one invocation may send before handing the open upload to the next. */
  byteBudget: number;
  /** Missing blobs up to this many bytes in all are copied by FetchManifest itself. */
  inlineCopyBytes?: number;
  /** What a CopyBlobs lane costs, as bytes, when blobs are dealt into lanes (lanes.ts). */
  laneCostBytes?: number;
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
   * How long an invocation waits for another job's copy of its blob before it hands the lane
   * back (SharedBlobBusyError: the state's Retry frees the invocation for a while).
   */
  claimWaitMs?: number;
  /** How often a copy renews its claim: a third of the claim's time to live. */
  renewClaimEveryMs?: number;
  /**
   * The local runtime's: a job whose every blob in flight waits for another job's copy lends
   * its running slot meanwhile (jobs/slot-lending.ts). Deployed, none: a waiting lane hands
   * its invocation back instead.
   */
  slotLending?: SlotLending;
  /** Where a task reports what an operator should see (a stalled source): the function's log. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}
