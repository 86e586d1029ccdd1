import { taskHandler } from '../lib/runtime/task-handler.ts';
import { recordStateTask } from '../lib/workflow/tasks.ts';

export const handler = taskHandler(recordStateTask);
