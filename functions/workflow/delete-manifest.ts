import { WORKFLOW_HANDLERS } from './index.ts';

export const handler = WORKFLOW_HANDLERS.DeleteManifestFunctionArn;
