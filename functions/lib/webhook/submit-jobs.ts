import { mapLimit } from '#replication/limit.ts';
import type { JobTarget, SubmittedJob } from '../jobs/job.ts';
import type { JobMessage } from '../jobs/message.ts';

/**
 * Submitting a delivery's jobs: recorded (nothing when the job exists: ids are derived from the
 * delivery, and every write is conditional, so a re-delivery never overwrites a running job),
 * tag lock claimed, then one queue message per new claim. Jobs of different tags are submitted
 * concurrently; jobs of one tag in the delivery's order, because the tag lock lets the newest
 * digest win and "newest" is the order of submission.
 */

export interface SubmitPorts {
  /** The digest this policy last replicated for the tag: what a tag delete without a digest removes. */
  replicatedDigest(policy: string, repository: string, tag: string): Promise<string | undefined>;
  /** Records the job (nothing when it exists) and claims its tag lock. */
  submitJob(job: JobTarget): Promise<SubmittedJob>;
  /** Sends job messages to the queue. */
  enqueue(messages: JobMessage[]): Promise<void>;
}

/** Record writes in flight at once for one delivery. */
export const SUBMIT_CONCURRENCY = 16;

/** A delete without a digest, resolved to what the policy put there; undefined: nothing to delete. */
async function resolved(ports: SubmitPorts, job: JobTarget): Promise<JobTarget | undefined> {
  if (job.action !== 'delete' || job.digest !== undefined) return job;
  const digest = await ports.replicatedDigest(job.policy, job.sourceRepository, job.tag);
  return digest === undefined ? undefined : { ...job, digest };
}

const tagOf = (job: JobTarget) => `${job.policy}\n${job.sourceRepository}\n${job.tag}`;

/** The jobs by tag, each group in the given order. */
export function groupByTag<T extends JobTarget>(jobs: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const job of jobs) {
    const group = groups.get(tagOf(job));
    if (group) group.push(job);
    else groups.set(tagOf(job), [job]);
  }
  return [...groups.values()];
}

/**
 * Submits `jobs` and sends the messages of new claims; answers the ids of the jobs submitted, in
 * the given order (a delete of a tag the policy never replicated makes none). What was submitted is sent even
 * when another submission failed; then the first error is thrown (a retry submits the same ids).
 */
export async function submitJobs(ports: SubmitPorts, jobs: readonly JobTarget[]): Promise<string[]> {
  const submitted: (string | undefined)[] = new Array(jobs.length);
  const messages: JobMessage[] = [];
  let failure: { error: unknown } | undefined;
  try {
    const indexed = jobs.map((job, index) => ({ ...job, index }));
    await mapLimit(groupByTag(indexed), SUBMIT_CONCURRENCY, async (group) => {
      for (const { index, ...target } of group) {
        const job = await resolved(ports, target);
        if (job === undefined) continue;
        const result = await ports.submitJob(job);
        submitted[index] = result.jobId;
        if (result.enqueue) messages.push({ jobId: result.jobId, attempt: result.attempt });
      }
    });
  } catch (error) {
    failure = { error };
  }
  if (messages.length > 0) await ports.enqueue(messages);
  if (failure !== undefined) throw failure.error;
  return submitted.filter((id) => id !== undefined);
}
