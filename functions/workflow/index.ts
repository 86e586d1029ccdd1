import { handler as checkBlob } from './check-blob.ts';
import { handler as checkManifest } from './check-manifest.ts';
import { handler as checkTag } from './check-tag.ts';
import { handler as copyBlob } from './copy-blob.ts';
import { handler as deleteManifest } from './delete-manifest.ts';
import { handler as fetchManifest } from './fetch-manifest.ts';
import { handler as pushManifest } from './push-manifest.ts';
import { handler as recordState } from './record-state.ts';

/**
 * The workflow's Lambda handlers by the placeholder the ASL uses for their ARN (the CDK stack
 * deploys one function per entry, `infra/aws/workflow.ts`). The local runtime binds each Task
 * state to the handler named here, so both run the same modules.
 */
export const WORKFLOW_HANDLERS = {
  RecordStateFunctionArn: recordState,
  FetchManifestFunctionArn: fetchManifest,
  CheckManifestFunctionArn: checkManifest,
  CheckBlobFunctionArn: checkBlob,
  CopyBlobFunctionArn: copyBlob,
  PushManifestFunctionArn: pushManifest,
  CheckTagFunctionArn: checkTag,
  DeleteManifestFunctionArn: deleteManifest,
} as const;
