import { taskHandler } from '../lib/runtime/task-handler.ts';
import { checkTagTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(checkTagTask);
