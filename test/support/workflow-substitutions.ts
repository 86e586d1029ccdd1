import type { WorkflowSubstitutions } from '../../infra/workflow.ts';

const arn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:crossdock-${name}`;

/** Values for every placeholder of the workflow, with Lambda ARNs of the form AWS gives. */
export function exampleSubstitutions(overrides: Partial<WorkflowSubstitutions> = {}): WorkflowSubstitutions {
  return {
    RecordStateFunctionArn: arn('record-state'),
    FetchManifestFunctionArn: arn('fetch-manifest'),
    CheckManifestFunctionArn: arn('check-manifest'),
    CheckBlobFunctionArn: arn('check-blob'),
    CopyBlobFunctionArn: arn('copy-blob'),
    PushManifestFunctionArn: arn('push-manifest'),
    CheckTagFunctionArn: arn('check-tag'),
    DeleteManifestFunctionArn: arn('delete-manifest'),
    BlobsPerJob: 4,
    ExecutionTimeoutSeconds: 3600,
    ...overrides,
  };
}
