import type { Job } from '../jobs/job.ts';
import type { EndRequest } from '../jobs/lifecycle.ts';
import type { QueuedJob, QueueMessage, SubmitMessage } from '../jobs/message.ts';

/**
 * A job message that reached the dead-letter queue: the dispatcher failed on it `maxReceiveCount`
 * times in a row. That is usually transient — the dispatcher, the records or Step Functions were
 * down for a while — so the message is sent again with a growing delay, and the job waits
 * rather than fails; an outage delays jobs, it does not fail them (docs/reliability.md). What
 * cannot get better ends: a message that names no job or an older attempt is dropped; a job
 * whose policy no longer exists, or that came back from the dead-letter queue
 * MAX_DEAD_LETTER_ROUNDS times (hours of failing), ends FAILED with the reason.
 */

export const MAX_DEAD_LETTER_ROUNDS = 6;

export interface DeadLetterPorts {
  job(id: string): Promise<Job | undefined>;
  policyExists(name: string): Promise<boolean>;
  /** The one way a job ends (JobLifecycle.end). */
  end(jobId: string, status: 'FAILED', request: EndRequest): Promise<boolean>;
  /** Sends the message to the jobs queue again, visible after `delaySeconds`. */
  requeue(message: QueueMessage, delaySeconds: number): Promise<void>;
}

export type DeadLetterOutcome = 'dropped' | 'requeued' | 'failed';

/** 1, 2, 4, 8, 15, 15 minutes by default (`firstDelaySeconds` 60): SQS delays at most 15. */
export const deadLetterDelay = (round: number, firstDelaySeconds = 60) =>
  Math.min(900, firstDelaySeconds * 2 ** round);

export async function handleDeadLetter(
  ports: DeadLetterPorts,
  message: QueuedJob,
  receives: string,
  options: { firstDelaySeconds?: number } = {},
): Promise<DeadLetterOutcome> {
  const job = await ports.job(message.jobId);
  if (!job || job.attempt !== message.attempt) return 'dropped';
  const round = message.deadLetters ?? 0;
  const fail = async (code: string, text: string) => {
    await ports.end(job.id, 'FAILED', {
      error: { code, message: text, ...(job.substate ? { state: job.substate } : {}) },
      attempt: job.attempt,
    });
    return 'failed' as const;
  };
  if (!(await ports.policyExists(job.policy))) {
    return fail('PolicyGone', `its policy "${job.policy}" no longer exists`);
  }
  if (round >= MAX_DEAD_LETTER_ROUNDS) {
    return fail(
      'DeadLetter',
      `the job's message was received ${receives} times without being dispatched, ${round + 1} times over; it was given up`,
    );
  }
  await ports.requeue(
    { ...message, deadLetters: round + 1 },
    deadLetterDelay(round, options.firstDelaySeconds),
  );
  return 'requeued';
}

/**
 * A big delivery's SubmitMessage that reached the dead-letter queue: its jobs are not recorded
 * yet, so it is sent again later like a job's message; after MAX_DEAD_LETTER_ROUNDS it is
 * dropped (the caller logs the job ids; a scan or reconciliation of the policy finds the tags).
 */
export async function handleDeadSubmission(
  ports: Pick<DeadLetterPorts, 'requeue'>,
  message: SubmitMessage,
  options: { firstDelaySeconds?: number } = {},
): Promise<'dropped' | 'requeued'> {
  const round = message.deadLetters ?? 0;
  if (round >= MAX_DEAD_LETTER_ROUNDS) return 'dropped';
  await ports.requeue(
    { ...message, deadLetters: round + 1 },
    deadLetterDelay(round, options.firstDelaySeconds),
  );
  return 'requeued';
}
