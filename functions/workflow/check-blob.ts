import { taskHandler } from '../lib/runtime/task-handler.ts';
import { checkBlobTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(checkBlobTask);
