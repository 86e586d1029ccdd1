import { z } from 'zod';

/**
 * The jobs queue's message: one attempt of one job. A message whose attempt is not the job's
 * is stale (a retry made a new one) and dropped. `woken`: sent by admission to a parked job,
 * whose running slots it took (docs/architecture.md, "Admission"); `deadLetters`: how often the
 * message came back from the dead-letter queue (docs/reliability.md).
 */
export const jobMessageSchema = z.object({ jobId: z.string().min(1), attempt: z.number().int().positive() });
export type JobMessage = z.infer<typeof jobMessageSchema>;

export const queuedJobSchema = jobMessageSchema.extend({
  deadLetters: z.number().int().nonnegative().optional(),
  woken: z.boolean().optional(),
});
export type QueuedJob = z.infer<typeof queuedJobSchema>;
