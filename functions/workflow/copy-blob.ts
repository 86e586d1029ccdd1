import { taskHandler } from '../lib/runtime/task-handler.ts';
import { copyBlobTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(copyBlobTask);
