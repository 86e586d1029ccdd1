import { taskHandler } from '../lib/runtime/task-handler.ts';
import { pushManifestTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(pushManifestTask);
