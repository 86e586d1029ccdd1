import { z } from 'zod';

/**
 * The jobs queue's message: one attempt of one job. A message whose attempt is not the job's
 * is stale (a retry made a new one) and dropped. `woken`: sent by admission to a parked job,
 * whose running slots it took (docs/architecture.md, "Admission"); `deadLetters`: how often the
 * message came back from the dead-letter queue (docs/reliability.md).
 */
export const jobMessageSchema = z.object({ jobId: z.string().min(1), attempt: z.number().int().positive() });
export type JobMessage = z.infer<typeof jobMessageSchema>;

/** A job attempt's execution input: its message and the action the workflow's first Choice branches on. */
export type ExecutionInput = JobMessage & { action: 'push' | 'delete' };

/** What a start of a job's execution found: it started it, or one of that name was there already. */
export type ExecutionStart = 'started' | 'existed';

export const queuedJobSchema = jobMessageSchema.extend({
  deadLetters: z.number().int().nonnegative().optional(),
  woken: z.boolean().optional(),
  /** A woken job's policy, so that the dispatcher checks it is enabled while it reads the job. */
  policy: z.string().min(1).optional(),
});
export type QueuedJob = z.infer<typeof queuedJobSchema>;

/** A job to submit, as a delivery's background fan-out carries it (see SubmitMessage). */
export const jobTargetSchema = z.object({
  id: z.string().min(1),
  policy: z.string().min(1),
  action: z.enum(['push', 'delete']),
  sourceRegistry: z.string().min(1),
  sourceRepository: z.string().min(1),
  tag: z.string().min(1),
  digest: z.string().optional(),
  destinationRegistry: z.string().min(1),
  destinationRepository: z.string().min(1),
  override: z.boolean().optional(),
  origin: z.enum(['event', 'scan']).optional(),
});

/**
 * Jobs of a big webhook delivery, submitted by the dispatcher instead of the webhook request,
 * so that the request answers within seconds whatever the delivery's size
 * (docs/architecture.md, "Big deliveries"). Submitting is idempotent (ids derived from the
 * delivery), so a message received twice makes no second job. A delete without a digest takes
 * the one its policy last replicated for the tag when it is submitted.
 */
export const submitMessageSchema = z.object({
  submit: z.array(jobTargetSchema).min(1),
  deadLetters: z.number().int().nonnegative().optional(),
});
export type SubmitMessage = z.infer<typeof submitMessageSchema>;

/** What the jobs queue carries. */
export const queueMessageSchema = z.union([queuedJobSchema, submitMessageSchema]);
export type QueueMessage = z.infer<typeof queueMessageSchema>;

export const isSubmitMessage = (message: QueueMessage): message is SubmitMessage => 'submit' in message;
