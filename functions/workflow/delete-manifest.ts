import { taskHandler } from '../lib/runtime/task-handler.ts';
import { deleteManifestTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(deleteManifestTask);
