import type { RegistryClient } from '#registry/client.ts';
import type { JobTarget, TerminalStatus } from '../jobs/job.ts';

/**
 * What the workflow tasks need from the outside, as interfaces: the job records (DynamoDB when
 * deployed, dynalite locally) and registry clients by the config's registry name.
 */

export type { JobAction, TerminalStatus } from '../jobs/job.ts';

export interface WorkflowJob extends JobTarget {
  attempt: number;
  status: string;
  cancelRequested: boolean;
  /** A chunked upload left open by an earlier invocation. */
  upload?: { digest: string; location: string; offset: number } | undefined;
}

export interface BlobProgress {
  copied?: number;
  mounted?: number;
  present?: number;
  bytes?: number;
}

export interface JobError {
  code: string;
  message: string;
  /** The substate the job was in when it failed. */
  state?: string | undefined;
}

export interface WorkflowJobs {
  get(id: string): Promise<WorkflowJob | undefined>;
  /** RUNNING for this attempt and execution; answers the job as it is now. */
  markRunning(id: string, attempt: number, executionArn: string): Promise<WorkflowJob>;
  /** The final status; a job already terminal keeps its status (returns false). */
  finish(id: string, status: TerminalStatus, error?: JobError, attempt?: number): Promise<boolean>;
  /** Records the substate being entered (and progress made), so the console and `jobs show` follow it. */
  setSubstate(id: string, substate: string, progress?: BlobProgress): Promise<void>;
  /** Keeps (or clears, with undefined) the open upload of a big blob across invocations. */
  setUpload(id: string, upload: WorkflowJob['upload']): Promise<void>;
  isCancelRequested(id: string): Promise<boolean>;
}

export interface RegistryClients {
  /** The client of a registry declared in the config (only those are ever contacted). */
  client(registryName: string): Promise<RegistryClient>;
}
