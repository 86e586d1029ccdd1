import { z } from 'zod';

/**
 * The jobs queue's message: one attempt of one job. A message whose attempt is not the job's
 * is stale (a retry made a new one) and dropped. `waits` counts how often the dispatcher held
 * the job back for a running slot; `deadLetters` how often the message came back from the
 * dead-letter queue (docs/reliability.md).
 */
export const jobMessageSchema = z.object({ jobId: z.string().min(1), attempt: z.number().int().positive() });
export type JobMessage = z.infer<typeof jobMessageSchema>;

export const queuedJobSchema = jobMessageSchema.extend({
  waits: z.number().int().nonnegative().optional(),
  deadLetters: z.number().int().nonnegative().optional(),
});
export type QueuedJob = z.infer<typeof queuedJobSchema>;
