import { taskHandler } from '../lib/runtime/task-handler.ts';
import { fetchManifestTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(fetchManifestTask);
