import { taskHandler } from '../lib/runtime/task-handler.ts';
import { checkManifestTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(checkManifestTask);
