/**
 * The workflow's Lambda functions, one table: each Task state of infra/workflow.asl.json calls
 * one of these (its `FunctionName` placeholder is `${<name>FunctionArn}`, its retriers
 * `${<name>Retry}`). The CDK stack deploys one Lambda per entry with this timeout, memory and
 * concurrency; the local runtime binds each to the same handler; the renderer fills the ASL's
 * placeholders from it. The task code for each name is `TASKS` in tasks.ts, checked complete by
 * the compiler.
 */

/** How a state retries what may pass: the retriers of each class are in infra/workflow.ts. */
/** `lane`: a CopyBlobs lane, which goes on through its Retry; `transient`: every other state. */
export type RetryClass = 'transient' | 'lane';

export interface WorkflowFunctionSpec {
  /** What the AWS console shows for the function. */
  description: string;
  timeoutSeconds: number;
  memoryMiB: number;
  retry: RetryClass;
  /** Moves blob bytes: its reserved concurrency is the IO worker pool. */
  transfer?: boolean;
}

export const WORKFLOW_FUNCTIONS = {
  RecordState: {
    description: 'Records a failed or cancelled job, with its error',
    timeoutSeconds: 120,
    memoryMiB: 512,
    retry: 'transient',
  },
  FetchManifest: {
    description:
      'FetchManifest: RUNNING; resolves the tag, checks the manifest and blobs, copies a small image (a delete: CheckTag)',
    // It copies up to inlineCopyBytes itself (tasks.ts), which a slow registry can make long.
    timeoutSeconds: 300,
    memoryMiB: 1024,
    retry: 'transient',
  },
  MountOrCopyBlobs: {
    description: 'MountOrCopyBlobs: mounts or streams the blobs of one lane, in chunks',
    // Lambda's ceiling; the task hands a big blob to the next invocation well before it.
    timeoutSeconds: 900,
    memoryMiB: 1024,
    retry: 'lane',
    transfer: true,
  },
  PushManifest: {
    description: 'PushManifest: children, index, then the tag; SUCCEEDED',
    timeoutSeconds: 120,
    memoryMiB: 512,
    retry: 'transient',
  },
  DeleteManifest: {
    description: 'DeleteManifest: removes the destination manifest; SUCCEEDED',
    timeoutSeconds: 120,
    memoryMiB: 512,
    retry: 'transient',
  },
} as const satisfies Record<string, WorkflowFunctionSpec>;

export type WorkflowFunction = keyof typeof WORKFLOW_FUNCTIONS;

export const WORKFLOW_FUNCTION_NAMES = Object.keys(WORKFLOW_FUNCTIONS) as WorkflowFunction[];
